"""The ``tongban`` command: main (its parser and the small commands), and one module per command group that
has its own options (audit, calendar, master-key). Other packages add theirs through entry points."""
