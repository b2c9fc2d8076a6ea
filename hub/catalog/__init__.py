"""The catalogue on disk: reading, checking and scaffolding ``specs/catalog``.

``files`` reads the catalogue directories (and ``HUB_CATALOG_DIRS`` over
them) into a :class:`~hub.domain.catalog.Catalog` and builds the
:class:`~hub.catalog.files.LoadedCatalog` the hub runs on; ``check`` is the
operator's pre-flight of a catalogue change (``hub catalog check``);
``scaffold`` prints a registry's catalogue skeleton from its service
description (``hub registry scaffold``). The catalogue's model and rules are
pure and live in :mod:`hub.domain.catalog`.
"""
