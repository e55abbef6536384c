"""Policies: stage catalogs, filing duties, deadlines and routing rules."""

from threeregs.policy._policy import (
    LineRules,
    Policy,
    Route,
    TomlPolicy,
    UnknownBusinessLineError,
    default_policy,
)

__all__ = [
    "LineRules",
    "Policy",
    "Route",
    "TomlPolicy",
    "UnknownBusinessLineError",
    "default_policy",
]
