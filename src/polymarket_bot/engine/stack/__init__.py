"""The stack launcher (docs/OPERATIONS.md): trader, monitor and order tracker as detached child
processes with pid files, health checks, graceful stop and a lock per wallet. One implementation
for every platform; `polymarket-launch stack ...` and the scripts in scripts/ are thin wrappers."""

from polymarket_bot.engine.stack.launcher import (
    EXIT_ALREADY_RUNNING,
    EXIT_CONFIG_ERROR,
    EXIT_FAILED,
    ProcessStatus,
    StackAlreadyRunning,
    StackError,
    StackLauncher,
    StackOptions,
    StackStartFailed,
    StackStatus,
    StopOutcome,
    StopReport,
)
from polymarket_bot.engine.stack.locks import (
    LockHeld,
    PidLock,
    claim_wallet,
    wallet_key,
    wallet_lock,
)
from polymarket_bot.engine.stack.specs import Health, ProcessSpec, build_specs
from polymarket_bot.engine.stack.state import ChildRecord, StackState, read_state

__all__ = [
    "EXIT_ALREADY_RUNNING",
    "EXIT_CONFIG_ERROR",
    "EXIT_FAILED",
    "ChildRecord",
    "Health",
    "LockHeld",
    "PidLock",
    "ProcessSpec",
    "ProcessStatus",
    "StackAlreadyRunning",
    "StackError",
    "StackLauncher",
    "StackOptions",
    "StackStartFailed",
    "StackState",
    "StackStatus",
    "StopOutcome",
    "StopReport",
    "build_specs",
    "claim_wallet",
    "read_state",
    "wallet_key",
    "wallet_lock",
]
