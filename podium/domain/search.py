"""Parse MLflow's search ``filter_string`` and ``order_by`` grammar into the ``search_ast`` tree.

Filter grammar (keywords case-insensitive; precedence NOT > AND > OR)::

    filter      := or_expr
    or_expr     := and_expr ("OR" and_expr)*                 Podium extension (MLflow: AND only)
    and_expr    := not_expr ("AND" not_expr)*
    not_expr    := "NOT" not_expr | "(" or_expr ")" | term    Podium extension
    term        := identifier comparator value
    comparator  := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE"
                 | "IN" | "NOT IN" | "IS NULL" | "IS NOT NULL"          ("<>" means "!=")
    value       := 'string' | "string" | number | "(" scalar ("," scalar)* ")"   (list: IN / NOT IN)
    identifier  := [prefix "."] key
    prefix      := attribute | attributes | attr | tag | tags | metric | metrics
                 | param | params | parameter | parameters
    key         := [A-Za-z0-9_.-]+ | `quoted key` | "quoted key"

A bare identifier (``name``) is an attribute. An unquoted key may contain dots: ``tags.a.b`` is the
tag ``a.b``. Inside a quoted string or key, a doubled quote (``'it''s'``) or a backslash before the
quote (``'it\\'s'``) stands for the quote; every other backslash is kept as written (LIKE escapes).

Each entity ("registered_models", "model_versions", "runs", "experiments", "logged_models") has
its own attribute keys, allowed comparators and value types (see ``_ENTITIES``); attribute keys are
normalised to one canonical name (``timestamp`` -> ``creation_timestamp``, ``created`` ->
``start_time``). Numbers become ``int`` when integral, else ``float``; IN lists become tuples.

Syntax is checked for the whole filter before any key, so a malformed filter always reports
``Invalid clause(s) in filter string: ...`` with the position; NOTs and parentheses nest at most
100 deep. Order-by clause grammar: ``identifier ["ASC" | "DESC"]`` with identifiers as above.

Every invalid input raises :class:`podium.errors.InvalidParameterValue`. Standard library only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from podium.domain.search_ast import And, Comparison, Node, Not, Or, OrderKey
from podium.errors import InvalidParameterValue

__all__ = [
    "ATTRIBUTE_KEYS",
    "ENTITIES",
    "EXPERIMENT_KEYS",
    "LOGGED_MODEL_KEYS",
    "MODEL_VERSION_KEYS",
    "ORDER_BY_KEYS",
    "REGISTERED_MODEL_KEYS",
    "RUN_KEYS",
    "parse_filter",
    "parse_order_by",
]

# --- comparator sets ------------------------------------------------------------------------------

_EQ = frozenset({"=", "!="})
_LIKE = frozenset({"LIKE", "ILIKE"})
_IN = frozenset({"IN", "NOT IN"})
_NULL = frozenset({"IS NULL", "IS NOT NULL"})
_RANGE = frozenset({"<", "<=", ">", ">="})

_STRING_OPS = _EQ | _LIKE | _IN  # string attributes
_NUMERIC_OPS = _EQ | _RANGE  # numeric attributes and metrics
_ID_OPS = _EQ | _IN  # identifiers and enumerations
_REGISTRY_TAG_OPS = _EQ | _LIKE | _NULL  # tags of registered models and model versions
_TAG_OPS = _STRING_OPS | _NULL  # tags and params elsewhere

# --- entity rules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """How one key is compared. type: "string" | "number" | "integer" | "metric"."""

    type: str
    ops: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Entity:
    attributes: dict[str, _Rule]  # canonical attribute key -> rule
    kinds: dict[str, _Rule]  # "tag" / "metric" / "param" -> rule
    order_keys: frozenset[str]  # canonical attribute keys order_by accepts
    order_kinds: frozenset[str] = frozenset()  # tag / metric / param order_by accepts
    aliases: dict[str, str] = field(default_factory=dict)  # other spelling -> canonical key

    def canonical(self, key: str, valid, kinds=None) -> str:
        """The canonical key for ``key`` among ``valid``, or MLflow's invalid-key error.

        The error names the valid keys as a list and suggests the closest one; a bare key that is
        close to none (``accuracy``) is suggested with the first prefix ``kinds`` allows
        (``metrics.accuracy``, else ``tags.accuracy``).
        """
        canonical = self.aliases.get(key, key)
        if canonical not in valid:
            names = sorted(set(valid) | {alias for alias, c in self.aliases.items() if c in valid})
            close = difflib.get_close_matches(key, names, n=1)
            kinds = self.kinds if kinds is None else kinds
            prefix = next((_PLURAL[k] for k in ("metric", "tag", "param") if k in kinds), None)
            hint = close[0] if close else (f"{prefix}.{key}" if prefix else None)
            raise InvalidParameterValue(
                f"Invalid attribute key '{key}' specified. Valid keys are {', '.join(map(repr, names))}"
                + (f"; did you mean '{hint}'?" if hint else ".")
            )
        return canonical


_STRING = _Rule("string", _STRING_OPS)
_NUMBER = _Rule("number", _NUMERIC_OPS)
_ID = _Rule("string", _ID_OPS)
_METRIC = _Rule("metric", _NUMERIC_OPS)
_TAG = _Rule("string", _TAG_OPS)
_REGISTRY_TAG = _Rule("string", _REGISTRY_TAG_OPS)

_ENTITIES: dict[str, _Entity] = {
    "registered_models": _Entity(
        attributes={"name": _STRING},
        kinds={"tag": _REGISTRY_TAG},
        order_keys=frozenset({"name", "creation_timestamp", "last_updated_timestamp"}),
        aliases={"timestamp": "creation_timestamp"},
    ),
    "model_versions": _Entity(
        attributes={
            "name": _STRING,
            "run_id": _STRING,
            "source_path": _Rule("string", _EQ | _LIKE),
            "version_number": _Rule("integer", _NUMERIC_OPS),
            "current_stage": _ID,
            "creation_timestamp": _NUMBER,
            "last_updated_timestamp": _NUMBER,
        },
        kinds={"tag": _REGISTRY_TAG},
        order_keys=frozenset(
            {"name", "version_number", "creation_timestamp", "last_updated_timestamp"}
        ),
        aliases={"timestamp": "creation_timestamp"},
    ),
    "runs": _Entity(
        attributes={
            **dict.fromkeys(("run_id", "run_name", "status", "user_id"), _STRING),
            **dict.fromkeys(("artifact_uri", "lifecycle_stage"), _STRING),
            **dict.fromkeys(("start_time", "end_time"), _NUMBER),
        },
        kinds={"metric": _METRIC, "param": _TAG, "tag": _TAG},
        order_keys=frozenset(
            {"start_time", "end_time", "run_name", "status", "run_id", "user_id", "artifact_uri"}
        ),
        order_kinds=frozenset({"metric", "param", "tag"}),
        # "created" and the UI's column titles, as MLflow accepts them
        aliases={
            **dict.fromkeys(("created", "Created"), "start_time"),
            **dict.fromkeys(("Run Name", "Run name", "run name"), "run_name"),
        },
    ),
    "experiments": _Entity(
        attributes={"name": _STRING, "experiment_id": _ID}
        | dict.fromkeys(("creation_time", "last_update_time"), _NUMBER),
        kinds={"tag": _TAG},
        order_keys=frozenset({"name", "experiment_id", "creation_time", "last_update_time"}),
    ),
    "logged_models": _Entity(
        attributes={
            **dict.fromkeys(("name", "model_id", "status", "model_type", "source_run_id"), _STRING),
            **dict.fromkeys(("creation_timestamp", "last_updated_timestamp"), _NUMBER),
        },
        kinds={"metric": _METRIC, "param": _TAG, "tag": _TAG},
        order_keys=frozenset({"name", "creation_timestamp", "last_updated_timestamp", "model_id"}),
        order_kinds=frozenset({"metric"}),
        aliases={
            "creation_time": "creation_timestamp",
            "last_updated_time": "last_updated_timestamp",
        },
    ),
}

#: The entities a filter can be parsed for.
ENTITIES: tuple[str, ...] = tuple(_ENTITIES)

#: Canonical attribute keys a filter may produce, per entity (the store compiles these).
ATTRIBUTE_KEYS = {name: frozenset(spec.attributes) for name, spec in _ENTITIES.items()}
REGISTERED_MODEL_KEYS = ATTRIBUTE_KEYS["registered_models"]
MODEL_VERSION_KEYS = ATTRIBUTE_KEYS["model_versions"]
RUN_KEYS = ATTRIBUTE_KEYS["runs"]
EXPERIMENT_KEYS = ATTRIBUTE_KEYS["experiments"]
LOGGED_MODEL_KEYS = ATTRIBUTE_KEYS["logged_models"]

#: Canonical attribute keys an order_by clause may produce, per entity.
ORDER_BY_KEYS = {name: spec.order_keys for name, spec in _ENTITIES.items()}

_PREFIXES = {
    **dict.fromkeys(("attribute", "attributes", "attr"), "attribute"),
    **dict.fromkeys(("tag", "tags"), "tag"),
    **dict.fromkeys(("metric", "metrics"), "metric"),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), "param"),
}
_PLURAL = {"tag": "tags", "metric": "metrics", "param": "params"}
_KIND_NAMES = {"attribute": "attribute", "tag": "tag", "metric": "metric", "param": "parameter"}


def _set_repr(items) -> str:
    return "{" + ", ".join(repr(item) for item in sorted(items)) + "}"


# --- tokenizer ------------------------------------------------------------------------------------

_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL"})
_NUMBER_RE = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_OP_RE = re.compile(r"<=|>=|!=|<>|=|<|>")
_INTEGER_STRING_RE = re.compile(r"[+-]?[0-9]{1,100}")
_MAX_NUMBER_LENGTH = 100  # longer numerals are refused (Python caps int() at 4300 digits)
_MAX_DEPTH = 100  # NOTs and parentheses nested deeper are refused (far below the recursion limit)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "ident" | "kw" | "string" | "number" | "op" | "(" | ")" | "," | "end"
    text: str  # as written in the source
    pos: int
    value: object = None  # kw: upper-cased word; string/number: the value; ident: (prefix, key)


class _SyntaxError(Exception):
    """Internal: a position and what went wrong there; turned into InvalidParameterValue."""

    def __init__(self, detail: str, pos: int) -> None:
        super().__init__(detail)
        self.detail, self.pos = detail, pos


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted run opening at ``text[start]``; return its value and the index past it."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == quote and ch in ("\\", quote):  # \' or '' inside '...'
            out.append(quote)
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise _SyntaxError(f"unterminated quoted text starting with {text[start:start + 12]!r}", start)


def _number_value(text: str) -> int | float:
    number = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(_Token(ch, ch, i))
            i += 1
        elif ch in "'\"":
            value, end = _read_quoted(text, i)
            tokens.append(_Token("string", text[i:end], i, value))
            i = end
        elif (m := _OP_RE.match(text, i)) is not None:
            op = "!=" if m.group() == "<>" else m.group()
            tokens.append(_Token("op", m.group(), i, op))
            i = m.end()
        elif (m := _NUMBER_RE.match(text, i)) is not None:
            if len(m.group()) > _MAX_NUMBER_LENGTH:
                raise _SyntaxError("number too long", i)
            tokens.append(_Token("number", m.group(), i, _number_value(m.group())))
            i = m.end()
        elif (m := _WORD_RE.match(text, i)) is not None:
            word, end = m.group(), m.end()
            if word.endswith(".") and end < len(text) and text[end] in "`\"":
                key, end = _read_quoted(text, end)
                tokens.append(_Token("ident", text[i:end], i, (word[:-1], key)))
            elif "." not in word and word.upper() in _KEYWORDS:
                tokens.append(_Token("kw", word, i, word.upper()))
            else:
                prefix, dot, key = word.partition(".")
                tokens.append(_Token("ident", word, i, (prefix, key) if dot else (None, word)))
            i = end
        else:
            raise _SyntaxError(f"unexpected character {ch!r}", i)
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --- filter parser --------------------------------------------------------------------------------


def _combine(cls: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


@dataclass(frozen=True, slots=True)
class _RawTerm:
    """A term as parsed, before its key, comparator and value are checked for the entity."""

    ident: _Token
    op: str
    literal: _Token | tuple[_Token, ...] | None  # None for IS [NOT] NULL


class _FilterParser:
    """Recursive descent over the token list; builds And/Or/Not over raw terms."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _advance(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def _accept(self, kind: str) -> bool:
        """Step over the current token if it is ``kind`` ("(", ",", ...) or the keyword ``kind``."""
        token = self.tok
        if token.kind == kind or (token.kind == "kw" and token.value == kind):
            self.i += 1
            return True
        return False

    def _expect(self, kind: str) -> None:
        if not self._accept(kind):
            raise self._expected(repr(kind))

    def _expected(self, what: str) -> _SyntaxError:
        found = "end of filter" if self.tok.kind == "end" else repr(self.tok.text)
        return _SyntaxError(f"expected {what}, found {found}", self.tok.pos)

    def parse(self) -> Node | _RawTerm:
        node = self._or()
        if self.tok.kind != "end":
            raise self._expected("AND, OR or the end of the filter")
        return node

    def _or(self) -> Node:
        items = [self._and()]
        while self._accept("OR"):
            items.append(self._and())
        return _combine(Or, items)

    def _and(self) -> Node:
        items = [self._not()]
        while self._accept("AND"):
            items.append(self._not())
        return _combine(And, items)

    def _not(self) -> Node:
        is_not = self.tok.kind == "kw" and self.tok.value == "NOT"
        if not is_not and self.tok.kind != "(":
            return self._term()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _SyntaxError(f"more than {_MAX_DEPTH} nested NOTs or parentheses", self.tok.pos)
        self.i += 1  # past NOT or "("
        if is_not:
            node: Node = Not(self._not())
        else:
            node = self._or()
            self._expect(")")
        self.depth -= 1
        return node

    def _term(self) -> _RawTerm:
        if self.tok.kind != "ident":
            raise self._expected("an identifier such as name or tags.<key>")
        ident = self._advance()
        op = self._comparator(ident)
        literal = self._value(ident, op)
        return _RawTerm(ident, op, literal)

    def _comparator(self, ident: _Token) -> str:
        token = self.tok
        if token.kind == "op" or (token.kind == "kw" and token.value in ("LIKE", "ILIKE", "IN")):
            self.i += 1
            return str(token.value)
        if self._accept("NOT"):
            self._expect("IN")
            return "NOT IN"
        if self._accept("IS"):
            negated = self._accept("NOT")
            self._expect("NULL")
            return "IS NOT NULL" if negated else "IS NULL"
        raise self._expected(f"a comparator after {ident.text!r}")

    def _scalar(self, after: str) -> _Token:
        if self.tok.kind not in ("string", "number"):
            raise self._expected(f"a quoted string or a number after {after!r}")
        return self._advance()

    def _value(self, ident: _Token, op: str) -> _Token | tuple[_Token, ...] | None:
        if op in _NULL:
            return None
        if op not in _IN:
            return self._scalar(f"{ident.text} {op}")
        if not self._accept("("):
            raise self._expected(f"a parenthesised list of values after {op}")
        if self.tok.kind == ")":
            raise _SyntaxError(f"empty list after {op}", self.tok.pos)
        items = [self._scalar("(")]
        while self._accept(","):
            items.append(self._scalar(","))
        if not self._accept(")"):
            raise self._expected("',' or ')' in the list of values")
        return tuple(items)


# --- per-entity resolution ------------------------------------------------------------------------


def _resolve_identifier(ident: _Token, kinds) -> tuple[str, str]:
    """(kind, key as written) of an identifier token; raises if the prefix is not allowed."""
    prefix, key = ident.value  # type: ignore[misc]
    if prefix is None:
        return "attribute", key
    kind = _PREFIXES.get(prefix)
    if kind is None or (kind != "attribute" and kind not in kinds):
        valid = [p for p, k in _PREFIXES.items() if k == "attribute" or k in kinds]
        raise InvalidParameterValue(
            f"Invalid entity type '{prefix}'. Valid entity types are {sorted(valid)}"
        )
    if not key:
        raise _SyntaxError(f"missing key after {prefix + '.'!r}", ident.pos)
    return kind, key


def _convert(rule: _Rule, what: str, token: _Token) -> object:
    """The AST value of one literal under ``rule``, or InvalidParameterValue on a type mismatch."""
    got = f"Got value {token.text}"
    if rule.type == "string":
        if token.kind != "string":
            raise InvalidParameterValue(
                f"Expected a quoted string value for {what} (e.g. 'my-value'). {got}"
            )
        return token.value
    value = token.value
    if token.kind == "string" and rule.type != "metric":  # numeric attribute given '123'
        if not _INTEGER_STRING_RE.fullmatch(str(value).strip()):
            raise InvalidParameterValue(f"Expected a numeric value for {what}. {got}")
        value = int(str(value).strip())
    elif token.kind != "number":
        raise InvalidParameterValue(f"Expected a numeric value for {what}. {got}")
    if rule.type == "integer" and not isinstance(value, int):
        raise InvalidParameterValue(f"Expected an integer value for {what}. {got}")
    return value


def _resolve_term(spec: _Entity, term: _RawTerm) -> Comparison:
    kind, key = _resolve_identifier(term.ident, spec.kinds)
    if kind == "attribute":
        canonical = spec.canonical(key, spec.attributes)
        rule = spec.attributes[canonical]
    else:
        canonical, rule = key, spec.kinds[kind]
    what = f"{_KIND_NAMES[kind]} '{key}'"
    if term.op not in rule.ops:
        raise InvalidParameterValue(
            f"Invalid comparator '{term.op}' for {what}. "
            f"Valid comparators are {_set_repr(rule.ops)}"
        )
    if term.literal is None:
        value: object = None
    elif isinstance(term.literal, tuple):
        value = tuple(_convert(rule, what, token) for token in term.literal)
    else:
        value = _convert(rule, what, term.literal)
    return Comparison(kind, canonical, term.op, value)


def _resolve(spec: _Entity, node) -> Node:
    """Turn the parsed tree's raw terms into validated Comparisons."""
    if isinstance(node, _RawTerm):
        return _resolve_term(spec, node)
    if isinstance(node, Not):
        return Not(_resolve(spec, node.item))
    return type(node)(tuple(_resolve(spec, item) for item in node.items))


def _entity(entity: str) -> _Entity:
    spec = _ENTITIES.get(entity)
    if spec is None:
        raise InvalidParameterValue(
            f"Unknown search entity {entity!r}. Valid entities are {list(_ENTITIES)}"
        )
    return spec


# --- public API -----------------------------------------------------------------------------------


def parse_filter(text: str | None, entity: str) -> Node | None:
    """Parse a search filter for ``entity``; None when the filter is empty or blank."""
    spec = _entity(entity)
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidParameterValue(f"The filter must be a string, got {type(text).__name__}")
    if not text.strip():
        return None
    try:
        # The whole filter is parsed before any key is checked, so syntax errors are reported first.
        return _resolve(spec, _FilterParser(text).parse())
    except _SyntaxError as exc:
        near = text[max(exc.pos - 50, 0) : exc.pos + 50]
        where = repr(text) if len(text) <= 200 else f"...{near!r}..."
        raise InvalidParameterValue(
            f"Invalid clause(s) in filter string: {exc.detail}, at position {exc.pos} of {where}"
        ) from None


def parse_order_by(clauses: list[str] | None, entity: str) -> list[OrderKey]:
    """Parse order_by clauses (``<identifier> [ASC|DESC]``) for ``entity``, in order."""
    spec = _entity(entity)
    if clauses is None:
        return []
    if isinstance(clauses, str):
        clauses = [clauses]
    return [_parse_order_clause(clause, spec) for clause in clauses]


def _parse_order_clause(clause: object, spec: _Entity) -> OrderKey:
    unparsable = InvalidParameterValue(f"Invalid order_by clause '{clause}'. Could not be parsed.")
    if not isinstance(clause, str):
        raise unparsable
    try:
        tokens = _tokenize(clause)
        shape_ok = tokens[0].kind == "ident" and tokens[1].kind in ("ident", "kw", "end")
        if not shape_ok or len(tokens) > 3:  # <identifier> [<direction>]
            raise unparsable
        kind, key = _resolve_identifier(tokens[0], spec.order_kinds)
    except _SyntaxError:
        raise unparsable from None
    ascending = True
    if tokens[1].kind != "end":
        direction = tokens[1].text.upper()
        if direction not in ("ASC", "DESC"):
            raise InvalidParameterValue(
                f"Invalid ordering key in order_by clause '{clause}'. "
                "The direction must be ASC or DESC."
            )
        ascending = direction == "ASC"
    if kind == "attribute":
        key = spec.canonical(key, spec.order_keys, spec.order_kinds)
    return OrderKey(kind, key, ascending)
