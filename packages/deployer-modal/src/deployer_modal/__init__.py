"""deployer-modal: deploy a solution to Modal. Hook implementations only.

Nothing here imports the modal SDK: listing strategies stays fast, and the credential check
(`deployer_modal.availability`) reads environment variables and Modal's config file with the
standard library.
"""

from __future__ import annotations

from deployer.plugin import Availability, StrategyPackage, hookimpl


@hookimpl
def deployer_register_strategy() -> StrategyPackage:
    return StrategyPackage(name="modal", package=__name__)


@hookimpl
def deployer_check_availability(
    strategy: str, options: dict[str, object] | None
) -> Availability | None:
    """The cloud target needs a Modal token; `target=local` runs in-process and needs none."""
    if strategy != "modal":
        return None
    target = (options or {}).get("target") or "cloud"
    if target == "local":
        return Availability(True)
    from deployer_modal.availability import missing_credentials

    reason = missing_credentials()
    if reason is None:
        return Availability(True)
    return Availability(
        False,
        reason,
        "run `modal token new`, or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET; "
        "or try it in-process with --option target=local",
    )
