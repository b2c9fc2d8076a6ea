"""Runnable stand-ins for the registries the hub calls, over a synthetic population.

The hub must run end to end on a fresh machine with nothing else installed, so
this package simulates the three registries it needs, each as its own HTTP
server on loopback, all serving one deterministic population:

* ``population`` (SOAP 1.1): person, birth record and family status;
* ``land`` (REST/JSON): property rights by owner and by KAEK;
* ``social-security`` (SOAP 1.1 with WS-Security): insurance status.

Each can be told to misbehave (latency, errors, malformed, hostile or no
answers) so the hub's resilience and hardened parsing can be tested. The
contracts are in ``specs/registries``. Modules:

* ``population``: the synthetic citizens, families, properties and insurance;
* ``translit``: ELOT 743 Greek-to-Latin transliteration;
* ``faults``: what can go wrong, and its compact string form;
* ``population_registry``, ``land_registry``, ``social_security``: the apps;
* ``runner``: start, serve and stop the three servers; sample citizens.
"""

from __future__ import annotations

from adapters.sandbox.faults import Faults, parse_fault_map
from adapters.sandbox.population import Citizen, Population
from adapters.sandbox.runner import (
    DEFAULT_CREDENTIALS,
    SandboxHandle,
    sample_citizens,
    serve_sandbox,
    start_sandbox,
)
from adapters.sandbox.translit import elot743

__all__ = [
    "DEFAULT_CREDENTIALS",
    "Citizen",
    "Faults",
    "Population",
    "SandboxHandle",
    "elot743",
    "parse_fault_map",
    "sample_citizens",
    "serve_sandbox",
    "start_sandbox",
]
