"""Fast tests with no server and no database beyond an in-memory store: the aggregates, the pure rules, the
layering and declaration checks, and the use cases over in-memory stores (usecases/)."""
