// The links the mlflow client prints (http://host/#/models/<name>, #/models/<name>/versions/<v>,
// #/experiments/<id>/runs/<run_id>) carry their target in the fragment, which never reaches the
// server: this moves the browser to the matching Podium page. External file: the CSP allows no inline script.
(function () {
  var hash = window.location.hash;
  if (hash.indexOf("#/") !== 0) return;
  var parts = hash.slice(2).split("?")[0].split("/");
  var target = null;
  if (parts[0] === "models" && parts.length >= 2 && parts[1]) {
    target = "/models/" + parts[1];
    if (parts[2] === "versions" && parts[3]) target += "/versions/" + parts[3];
  } else if (parts[0] === "experiments" && parts[2] === "runs" && parts[3]) {
    target = "/runs/" + parts[3];
  } else if (parts[0] === "experiments" && parts[1]) {
    target = "/experiments/" + parts[1];
  }
  if (target) window.location.replace(target);
})();
