"""Errors the domain raises. The node maps each to an HTTP and a gRPC status in one table."""


class DomainError(Exception):
    """A command was refused by a business rule; nothing was recorded."""


class InvalidField(DomainError):
    """A value is malformed or out of range. ``field`` names it, so callers can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class IllegalTransition(DomainError):
    """The operation is not allowed from the aggregate's current state."""

    def __init__(self, subject: str, operation: str, state: str) -> None:
        super().__init__(f"cannot {operation} {subject}: it is {state}")
        self.subject = subject
        self.operation = operation
        self.state = state
