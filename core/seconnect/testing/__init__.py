"""Test helpers shipped with seconnect, for its own tests and for plugin authors' suites.

``seconnect.testing.postgres`` starts a throwaway PostgreSQL cluster.
"""
