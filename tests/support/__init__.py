"""The one test world of the service tests and the state machine (see ``world``): the library's
in-memory stack with one fault-injecting gateway (``FaultyGateway``) and one hooked repository
(``HookedRepository``)."""
