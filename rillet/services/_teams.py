"""Teams for the server and the CLI: projects, promotion, the audit trail; thin
wrappers over ``rillet.platform._teams`` that take an :class:`~rillet.store.Instance`."""

from __future__ import annotations

from typing import Any

from rillet.store._instance import Instance


def create_project(inst: Instance, name: str, *, description: str = "",
                   who: str | None = None) -> dict[str, Any]:
    from rillet.platform._teams import create_project as create

    return create(inst.store, name, description=description, who=who)


def list_projects(inst: Instance) -> list[dict[str, Any]]:
    from rillet.platform._teams import list_projects as projects

    return projects(inst.store)


def promote(inst: Instance, name: str, version: str, *, project: str, from_domain: str,
            to_domain: str, who: str | None = None) -> dict[str, Any]:
    from rillet.platform._teams import promote as do_promote

    return do_promote(inst.store, name, version, project=project, from_domain=from_domain,
                      to_domain=to_domain, who=who)


def promotions(inst: Instance, *, project: str | None = None, name: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    from rillet.platform._teams import promotions as history

    return history(inst.store, project=project, name=name, limit=limit)


def audit(inst: Instance, *, project: str | None = None, limit: int = 100
          ) -> list[dict[str, Any]]:
    from rillet.platform._teams import audit_log

    return audit_log(inst.store, project=project, limit=limit)


def record_abort(inst: Instance, execution_id: str, who: str | None) -> None:
    """The audit row of an abort, in the execution's project and domain."""
    from rillet.platform._teams import execution_scope, local_user, record

    database = getattr(inst.store, "database", None)
    if database is None:  # a memory store keeps no audit trail
        return
    project, domain = execution_scope(inst.store, execution_id)
    record(inst.store, who=who or local_user(), project=project, domain=domain,
           action="abort", target=execution_id)


def launch_plans(inst: Instance, *, project: str = "default", domain: str = "development",
                 name: str | None = None) -> list[dict[str, Any]]:
    from rillet.platform._schedule import launch_plans as plans

    return plans(inst.store, project=project, domain=domain, name=name)


def activate(inst: Instance, name: str, *, project: str = "default",
             domain: str = "development", version: str | None = None,
             catch_up: bool = False, who: str | None = None) -> dict[str, Any]:
    from rillet.platform._schedule import activate as do_activate

    return do_activate(inst.store, name, project=project, domain=domain, version=version,
                       catch_up=catch_up, who=who)


def deactivate(inst: Instance, name: str, *, project: str = "default",
               domain: str = "development", who: str | None = None) -> dict[str, Any]:
    from rillet.platform._schedule import deactivate as do_deactivate

    return do_deactivate(inst.store, name, project=project, domain=domain, who=who)


def deliveries(inst: Instance, name: str, *, project: str = "default",
               domain: str = "development", limit: int = 100) -> list[dict[str, Any]]:
    """Every delivery attempt of launch plan ``name``'s webhooks, newest first."""
    from rillet.platform._notify import plan_deliveries

    return plan_deliveries(inst.store, name, project=project, domain=domain, limit=limit)


def create_token(inst: Instance, user: str, *, project: str | None = None,
                 role: str | None = None, admin: bool = False,
                 who: str | None = None) -> dict[str, Any]:
    """A token for ``user``; its text is in this answer only (the store keeps its hash)."""
    from rillet.platform._tokens import create_token as make

    return make(inst.store, user, project=project, role=role, admin=admin, who=who)


def revoke_tokens(inst: Instance, user: str, *, who: str | None = None) -> dict[str, Any]:
    """Revoke every live token of ``user`` (refused at once by this server)."""
    from rillet.platform._tokens import revoke_tokens as revoke

    return {"user": user, "revoked": revoke(inst.store, user, who=who)}
