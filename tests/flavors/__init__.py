"""Tests of MLflow's model directory format and the sklearn / pyfunc flavors.

Small shared helpers live here (fixtures stay in each module): bundled sklearn datasets only,
no network, tiny files.
"""

from __future__ import annotations

import functools


@functools.cache
def wine():
    """The wine data set as (X: ndarray[178, 13], y: ndarray[int]), X standardized so that
    LogisticRegression converges in milliseconds instead of seconds."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def wine_frame(columns: int = 4):
    """The first ``columns`` wine features as a DataFrame with columns a, b, c, ..."""
    import pandas as pd

    X, y = wine()
    return pd.DataFrame(X[:, :columns], columns=[chr(ord("a") + i) for i in range(columns)]), y


def fitted_logreg(X=None, y=None):
    from sklearn.linear_model import LogisticRegression

    if X is None:
        X, y = wine()
    return LogisticRegression(max_iter=5000).fit(X, y)


def fitted_tree():
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y), X


TREE_TYPE = "sklearn.tree._tree.Tree"
