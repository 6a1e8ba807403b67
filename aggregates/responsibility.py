"""Who acts: every event records the acting office and operator (责任追溯)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    province: str  # six-digit province code, e.g. 310000
    office_code: str  # 机构代码 of the acting office
    operator_id: str  # the operator's id within that office

    def event_fields(self) -> dict[str, str]:
        """The acting province, office and operator, as a workflow event records them."""
        return {"province": self.province, "office_code": self.office_code, "operator_id": self.operator_id}
