"""The smaller RPCs: models, leaderboard, quota, model-proxy token, token introspection."""

from __future__ import annotations

import hashlib
import zlib

from kbench_tui.sim import wire
from kbench_tui.sim.catalog import MODELS
from kbench_tui.sim.engine import Engine
from kbench_tui.sim.outputs import run_result
from kbench_tui.sim.wire import ApiError

# Each scheduled run costs this much model-proxy quota (USD), against a daily allowance.
RUN_COST_USD = 0.0425
DAILY_QUOTA_USD = 20.0
PROXY_TOKEN_HOURS = 24


def list_models(body: dict) -> dict:
    """ListBenchmarkModels: the catalogue, 20 per page by default."""
    models = [model.to_wire() for model in MODELS]
    page, token = wire.paginate(models, body, "models")
    answer: dict = {"benchmarkModels": page}
    if token:
        answer["nextPageToken"] = token
    return answer


def quota(engine: Engine, user: str) -> dict:
    """GetBenchmarkTaskQuota: spend of the runs scheduled in the last 24 h of clock time."""
    since = engine.clock.time() - 24 * 3600
    used = engine.store.count_runs_since(user, since) * RUN_COST_USD
    return {"dailyQuotaUsed": round(used, 4), "totalDailyQuotaAllowed": DAILY_QUOTA_USD}


def leaderboard(engine: Engine, user: str, body: dict) -> dict:
    """GetBenchmarkLeaderboard: per model, the latest completed run's result of each task."""
    owner = body.get("ownerSlug") or user
    slug = body.get("benchmarkSlug") or ""
    if not slug:
        raise ApiError(400, "benchmarkSlug is required.")
    found = engine.store.get_benchmark(owner, slug)
    number = body.get("versionNumber")
    if found is None or (number and number != found[0]):
        suffix = f" version {number}" if number and found else ""
        raise ApiError(404, f"Benchmark '{owner}/{slug}'{suffix} not found.")
    cells: dict[str, list[dict]] = {}
    for task_owner, task_slug in found[1]:
        version = engine.store.get_version(task_owner, task_slug)
        if version is None:
            continue
        latest_by_model = {}
        for run in engine.store.runs_of_version(version.id):
            if engine.run_state(run) == "COMPLETED":
                latest_by_model[run.model] = run  # runs come oldest first
        for model, run in latest_by_model.items():
            result, _ = run_result(run, engine.config.rng_seed, "COMPLETED")
            entry: dict = {
                "evaluationDate": wire.timestamp(run.end_time),
                "taskVersionId": version.id,
            }
            if "numericResult" in result:
                entry["numericResult"] = result["numericResult"]
            elif "booleanResult" in result:
                entry["booleanResult"] = result["booleanResult"]
            else:
                # Dictionary results have no leaderboard column; show them as key/values.
                entry["customAdditionalResults"] = [
                    {"key": key, "value": str(value)} for key, value in result["dictResult"].items()
                ]
            cells.setdefault(model, []).append(
                {
                    "benchmarkTaskName": version.task_name,
                    "benchmarkTaskSlug": version.slug,
                    "taskVersion": version.number,
                    "result": entry,
                }
            )
    rows = []
    for model in MODELS:  # catalogue order keeps rows stable
        if model.version_slug in cells:
            rows.append(
                {
                    "modelVersionName": model.display_name,
                    "modelVersionSlug": model.version_slug,
                    "taskResults": cells[model.version_slug],
                }
            )
    return {"rows": rows}


def proxy_token(engine: Engine, user: str, base_url: str) -> dict:
    """CreateDefaultModelProxyToken: a fresh, random-looking token valid for 24 h."""
    now = engine.clock.time()
    digest = hashlib.sha256(f"{engine.config.rng_seed}:{user}:{now!r}".encode()).hexdigest()
    return {
        "token": f"kmp_{digest[:40]}",
        "baseUri": base_url.rstrip("/") + "/model-proxy",
        "expiryTime": wire.timestamp(now + PROXY_TOKEN_HOURS * 3600),
    }


def user_id(name: str) -> int:
    """A stable numeric id for a user name."""
    return 1000 + zlib.crc32(name.encode()) % 100_000


def introspect(users: dict[str, str], body: dict) -> dict:
    """IntrospectToken: who a token belongs to, or `{"active": false}`."""
    token = body.get("token") or ""
    for name, known in users.items():
        if token and token == known:
            return {
                "active": True,
                "clientId": "kaggle-cli",
                "username": name,
                "userId": user_id(name),
                "scope": "resources.admin:*",
            }
    return {"active": False}
