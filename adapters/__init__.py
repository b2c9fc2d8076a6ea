"""Registry adapters: the clients that federate the authoritative registries.

One port (``hub.evidence.ports.RegistryClient``), a REST implementation on
``requests`` and a SOAP implementation on ``zeep``, both wrapped by the same
resilience policy. ``adapters.sandbox`` holds runnable simulators of the
registries with a synthetic population.
"""
