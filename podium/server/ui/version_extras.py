"""The parts of ``/models/<name>/versions/<v>`` beyond the version itself (issue 13, page 3): its
signature and requirements (two small files read through
:meth:`~podium.services.integrity.IntegrityService.get_model_version_spec`, the files the compare
endpoint reads), the verify result (only when asked, ``?verify=1``: verifying re-reads and hashes
every file, as ``POST /api/podium/v1/model-versions/verify`` does), and the version's approval
requests; a pending one with its policy's gates evaluated now (they are evaluated again when its
last approval lands; gate results are not stored, so a decided request shows none). Each asks the gate the question of the API endpoint that returns
the same data."""

from __future__ import annotations

from podium.errors import PodiumError

__all__ = ["version_extras"]


def version_extras(s, check, mv, query: dict) -> dict:
    name = mv.name
    out: dict = {"spec": None, "verify": None, "verify_refused": None, "requests": None}
    if s.integrity is not None:
        check("compare_model_versions", {"name": name})
        out["spec"] = s.integrity.get_model_version_spec(mv)
        if query.get("verify") == "1":
            try:
                check("verify_model_version", {"name": name, "version": mv.version})
                out["verify"] = s.integrity.verify_model_version(name, mv.version)
            except PodiumError as exc:  # files this server cannot read: say so on the page
                out["verify_refused"] = exc.message
    if s.approvals is not None:
        check("list_model_version_requests", {"name": name})
        requests = [r for r in s.approvals.list_requests(name) if int(r.version) == int(mv.version)]
        out["requests"] = [{"request": r, "gates": None} for r in requests]
        pending = [row for row in out["requests"] if row["request"].status == "pending"]
        if pending and s.access is not None:  # gates are checked again when the last approval lands: show them now
            check("get_model_policy", {"name": name})
            policy = s.access.get_model_policy(name)
            for row in pending:
                r = row["request"]
                row["gates"] = s.approvals.evaluate_gates(policy, name, r.version, r.target_kind, r.target)
    return out
