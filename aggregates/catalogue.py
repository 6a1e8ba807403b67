"""The service catalogue (事项清单): each province's service items and 一件事 bundles, event-sourced.

Every change is a new version with the whole definition, so a case can name (and keep) the version it was
filed under and auditors can see what changed when.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import InvalidField
from aggregates.identifiers import InvalidIdentifier, validate_credit_code
from aggregates.responsibility import Actor

CATALOGUE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:catalogue")
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$")
_TYPE_CODE = re.compile(r"^[0-9A-Z]{18}[0-9]{3}$")
_PROVINCE = re.compile(r"^[1-8][0-9]0000$")


class Mode(StrEnum):
    FULL_ONLINE = "FULL_ONLINE"  # 全程网办
    PROXY = "PROXY"  # 异地代收代办
    JOINT = "JOINT"  # 多地联办


class PartRole(StrEnum):
    """Whose province handles a part of a joint case, relative to the applicant."""

    MOVE_OUT = "MOVE_OUT"  # 迁出地 / 转出地
    MOVE_IN = "MOVE_IN"  # 迁入地 / 转入地
    HOME = "HOME"  # 户籍地
    WORKPLACE = "WORKPLACE"  # 工作地


ARTICLE_45 = "《中华人民共和国行政许可法》第四十五条"
MAX_ARTICLES = 10


class SpecialProcedure(StrEnum):
    """特别程序: 行政许可法 第45条's closed list of the procedures a decision needs whose time does not count
    in its limit (所需时间不计算在本节规定的期限内)."""

    HEARING = "HEARING"  # 听证
    BIDDING = "BIDDING"  # 招标
    AUCTION = "AUCTION"  # 拍卖
    INSPECTION_TESTING = "INSPECTION_TESTING"  # 检验
    DETECTION = "DETECTION"  # 检测
    QUARANTINE = "QUARANTINE"  # 检疫
    APPRAISAL = "APPRAISAL"  # 鉴定
    EXPERT_REVIEW = "EXPERT_REVIEW"  # 专家评审


# The kinds that stopped the clock before items declared their law, as cases filed then keep them: 现场核查
# (INSPECTION) and 检验检测 (TESTING) among them.
KINDS_BEFORE_RULE: tuple[str, ...] = ("HEARING", "INSPECTION", "EXPERT_REVIEW", "TESTING")
# Kinds an item published now may not name, and why: the error says it.
NOT_SPECIAL: dict[str, str] = {
    "INSPECTION": "现场核查 is part of the review (行政许可法 第三十四条) and stops no clock",
    "TESTING": "检验检测 is two kinds of 行政许可法 第四十五条: INSPECTION_TESTING (检验) or "
    "DETECTION (检测)",
}
_KIND = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")


@dataclass(frozen=True, slots=True)
class ClockStop:
    """A special procedure that stops the item's decision clock, and the law that provides it (the articles,
    as text; None for an item stored before items declared it)."""

    kind: str
    legal_basis: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class ClockStops:
    """What stops the item's decision clock (行政许可法 第42条's limit): the special procedures (第45条) and
    whether a supplement asked for after acceptance (补正 after 受理) does, each with its legal basis.

    ``before_rule``: the item was stored before items declared this; it keeps the effect it had then (every
    kind of :data:`KINDS_BEFORE_RULE`, and a supplement after acceptance stopped the clock), so cases filed
    under it count as they did. An item published since gets the law's default when it says nothing: the
    eight kinds of 第45条, and no stop for a supplement after acceptance (行政许可法 provides none)."""

    special_procedures: tuple[ClockStop, ...]
    supplement_stops_clock: bool
    supplement_basis: tuple[str, ...] | None
    before_rule: bool = False

    def stop(self, kind: str) -> ClockStop | None:
        return next((s for s in self.special_procedures if s.kind == kind), None)

    def event_fields(self) -> dict[str, Any]:
        return {
            "special_procedures": [
                {"kind": s.kind, "legal_basis": _listed(s.legal_basis)} for s in self.special_procedures
            ],
            "supplement_after_acceptance": {
                "stops_clock": self.supplement_stops_clock,
                "legal_basis": _listed(self.supplement_basis),
            },
        }

    @classmethod
    def from_event_fields(cls, fields: dict[str, Any] | None) -> ClockStops:
        if fields is None:
            return BEFORE_RULE
        return cls(
            special_procedures=tuple(
                ClockStop(s["kind"], _tupled(s["legal_basis"])) for s in fields["special_procedures"]
            ),
            supplement_stops_clock=fields["supplement_after_acceptance"]["stops_clock"],
            supplement_basis=_tupled(fields["supplement_after_acceptance"]["legal_basis"]),
        )

    @classmethod
    def create(cls, raw: dict[str, Any] | None) -> ClockStops:
        """An item's declaration, validated; what it leaves out is the law's default."""
        raw = raw or {}
        listed = raw.get("special_procedures")
        if listed is None:
            stops = tuple(ClockStop(kind.value, (ARTICLE_45,)) for kind in SpecialProcedure)
        else:
            stops = tuple(_clock_stop(i, s) for i, s in enumerate(listed))
            if len({s.kind for s in stops}) != len(stops):
                raise InvalidField("clock_stops/special_procedures", "must name each kind once")
        supplement = raw.get("supplement_after_acceptance") or {}
        stops_clock = supplement.get("stops_clock", False)
        if not isinstance(stops_clock, bool):
            raise InvalidField("clock_stops/supplement_after_acceptance/stops_clock", "must be true or false")
        basis = supplement.get("legal_basis")
        field = "clock_stops/supplement_after_acceptance/legal_basis"
        if stops_clock and basis is None:
            raise InvalidField(
                field,
                "must name the law by which a supplement after acceptance stops the clock: 行政许可法 "
                "provides no such stop",
            )
        if not stops_clock and basis is not None:
            raise InvalidField(field, "is named only when a supplement after acceptance stops the clock")
        return cls(stops, stops_clock, None if basis is None else _articles(field, basis))


# An item stored before items declared what stops their clock: the effect it had when recorded.
BEFORE_RULE = ClockStops(
    special_procedures=tuple(ClockStop(kind, None) for kind in KINDS_BEFORE_RULE),
    supplement_stops_clock=True,
    supplement_basis=None,
    before_rule=True,
)


def _listed(articles: tuple[str, ...] | None) -> list[str] | None:
    return None if articles is None else list(articles)


def _tupled(articles: list[str] | None) -> tuple[str, ...] | None:
    return None if articles is None else tuple(articles)


def _articles(field: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ARTICLES:
        raise InvalidField(field, f"must list 1 to {MAX_ARTICLES} articles, as text")
    return tuple(_name(field, str(article)) for article in raw)


def _clock_stop(index: int, raw: Any) -> ClockStop:
    field = f"clock_stops/special_procedures/{index}"
    if not isinstance(raw, dict):
        raise InvalidField(field, "must be an object with a kind")
    kind = str(raw.get("kind", ""))
    if kind in NOT_SPECIAL:
        raise InvalidField(f"{field}/kind", NOT_SPECIAL[kind])
    if not _KIND.match(kind):
        raise InvalidField(f"{field}/kind", "must be 2-40 capital letters, digits or '_'")
    basis = raw.get("legal_basis")
    if kind in SpecialProcedure.__members__:
        return ClockStop(kind, (ARTICLE_45,) if basis is None else _articles(f"{field}/legal_basis", basis))
    # another kind: only a law that provides it can stop the clock (第45条 names its eight only)
    if basis is None:
        raise InvalidField(
            f"{field}/legal_basis", "a kind outside 行政许可法 第四十五条 names the law that provides it"
        )
    articles = _articles(f"{field}/legal_basis", basis)
    if set(articles) == {ARTICLE_45}:
        raise InvalidField(f"{field}/legal_basis", "行政许可法 第四十五条 provides its eight kinds only")
    return ClockStop(kind, articles)


def _code(field: str, value: str) -> str:
    if not _CODE.match(value):
        raise InvalidField(field, "must be 1-64 letters, digits, '.', '_' or '-'")
    return value


def _name(field: str, value: str, max_length: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > max_length:
        raise InvalidField(field, f"must be 1 to {max_length} characters")
    return value


def _days(field: str, value: int, low: int, high: int = 3650) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidField(field, f"must be a whole number of working days from {low} to {high}")
    return value


@dataclass(frozen=True, slots=True)
class Material:
    code: str
    name: str
    substitutes: tuple[str, ...]  # certificate type codes whose valid certificate proves it (材料免提交)
    required: bool
    # the law or administrative regulation that requires the paper original all the same (上海市"一网通办"
    # 决定 第七条: 法律、行政法规另有规定的除外); None: a valid certificate of a substitute type exempts it
    paper_required_by: tuple[str, ...] | None = None


MAX_VALIDITY_YEARS = 100


@dataclass(frozen=True, slots=True)
class IssuedCertificateType:
    """The electronic certificate a case of the item issues when it concludes ISSUED (上海市"一网通办"决定
    第七条: an office that issues a certificate in 一网通办 provides it electronically).
    ``paper_counterpart``: the type also has a paper certificate (实体证照), issued together with the same
    information (同步发放, 信息一致). ``validity_years``: how long it is valid from its issue date; None:
    without end."""

    type_code: str
    type_name: str
    definer: str
    issuer_name: str
    issuer_code: str
    validity_years: int | None
    paper_counterpart: bool

    @classmethod
    def create(cls, raw: dict[str, Any]) -> IssuedCertificateType:
        field = "certificate"
        type_code = str(raw.get("type_code", ""))
        if not _TYPE_CODE.match(type_code):
            raise InvalidField(
                f"{field}/type_code", "must be the definer's 18-character credit code + 3 digits"
            )
        try:
            issuer_code = validate_credit_code(str(raw.get("issuer_code", "")))
        except InvalidIdentifier as e:
            raise InvalidField(f"{field}/issuer_code", f"{e.part}: {e.message}") from None
        years = raw.get("validity_years")
        if years is not None and (
            isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= MAX_VALIDITY_YEARS
        ):
            raise InvalidField(f"{field}/validity_years", f"must be 1 to {MAX_VALIDITY_YEARS} years, or null")
        paper = raw.get("paper_counterpart", False)
        if not isinstance(paper, bool):
            raise InvalidField(f"{field}/paper_counterpart", "must be true or false")
        return cls(
            type_code=type_code,
            type_name=_name(f"{field}/type_name", str(raw.get("type_name", ""))),
            definer=_name(f"{field}/definer", str(raw.get("definer", ""))),
            issuer_name=_name(f"{field}/issuer_name", str(raw.get("issuer_name", ""))),
            issuer_code=issuer_code,
            validity_years=years,
            paper_counterpart=paper,
        )


@dataclass(frozen=True, slots=True)
class JointPart:
    code: str
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class ItemDefinition:
    """A service item as one province publishes it. Build it with :meth:`create`, which validates."""

    code: str
    name: str
    department: str
    handling_province: str
    modes: tuple[str, ...]
    materials: tuple[Material, ...]
    statutory_limit_days: int
    promised_limit_days: int
    supplement_days: int
    extension_days: int
    fee_fen: int
    joint_parts: tuple[JointPart, ...]
    clock_stops: ClockStops = BEFORE_RULE
    # what a case concluded ISSUED issues; None: no certificate (and every item stored before items said)
    certificate: IssuedCertificateType | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> ItemDefinition:
        # Immutable all the way down, so a copy of a case (the aggregate cache hands out copies) can share it.
        return self

    @classmethod
    def create(
        cls,
        *,
        code: str,
        name: str,
        department: str,
        handling_province: str,
        modes: list[str],
        materials: list[dict[str, Any]],
        statutory_limit_days: int,
        promised_limit_days: int,
        supplement_days: int,
        extension_days: int,
        fee_fen: int,
        joint_parts: list[dict[str, Any]],
        clock_stops: dict[str, Any] | None = None,
        certificate: dict[str, Any] | None = None,
    ) -> ItemDefinition:
        if not _PROVINCE.match(handling_province):
            raise InvalidField("handling_province", "must be a six-digit province code")
        if not modes or len(set(modes)) != len(modes):
            raise InvalidField("modes", "must list one or more distinct modes")
        for mode in modes:
            if mode not in Mode.__members__:
                raise InvalidField("modes", f"must be among {', '.join(Mode)}")
        statutory = _days("statutory_limit_days", statutory_limit_days, 1)
        promised = _days("promised_limit_days", promised_limit_days, 1)
        if promised > statutory:
            raise InvalidField(
                "promised_limit_days", "承诺时限 must not exceed 法定时限 (statutory_limit_days)"
            )
        parsed_materials = tuple(_material(i, m) for i, m in enumerate(materials))
        if len({m.code for m in parsed_materials}) != len(parsed_materials):
            raise InvalidField("materials", "material codes must be unique within an item")
        parts = tuple(_part(i, p) for i, p in enumerate(joint_parts))
        if (Mode.JOINT in modes) != bool(parts):
            raise InvalidField(
                "joint_parts", "an item handled jointly (JOINT) lists its parts, and only then"
            )
        if len({p.code for p in parts}) != len(parts):
            raise InvalidField("joint_parts", "part codes must be unique within an item")
        if isinstance(fee_fen, bool) or not isinstance(fee_fen, int) or fee_fen < 0:
            raise InvalidField("fee_fen", "must be a non-negative whole number of fen")
        return cls(
            code=_code("code", code),
            name=_name("name", name),
            department=_name("department", department),
            handling_province=handling_province,
            modes=tuple(modes),
            materials=parsed_materials,
            statutory_limit_days=statutory,
            promised_limit_days=promised,
            supplement_days=_days("supplement_days", supplement_days, 1),
            extension_days=_days("extension_days", extension_days, 0),
            fee_fen=fee_fen,
            joint_parts=parts,
            clock_stops=ClockStops.create(clock_stops),
            certificate=None if certificate is None else IssuedCertificateType.create(certificate),
        )

    def as_event_fields(self) -> dict[str, Any]:
        """Primitive fields for a stored event: lists and dicts of str/int/bool only."""
        fields = asdict(self)
        fields["modes"] = list(self.modes)
        fields["materials"] = [_material_fields(m) for m in self.materials]
        fields["joint_parts"] = [asdict(p) for p in self.joint_parts]
        if self.clock_stops.before_rule:
            # as recorded: without the section, so a case filed under this version keeps its effect
            del fields["clock_stops"]
        else:
            fields["clock_stops"] = self.clock_stops.event_fields()
        if self.certificate is None:
            # as items without one were always recorded: an unchanged item publishes no new version
            del fields["certificate"]
        return fields

    @classmethod
    def from_event_fields(cls, fields: dict[str, Any]) -> ItemDefinition:
        """The item as recorded. One recorded before items declared what stops their clock (catalogue events
        and the ``item`` of ``Case.Submitted`` then lacked ``clock_stops``) keeps the effect it had:
        :data:`BEFORE_RULE`. Its next version, published with :meth:`create`, gets the law's default. One
        recorded before items named the certificate they issue (no ``certificate``) issues none."""
        certificate = fields.get("certificate")
        return cls(
            **{
                **fields,
                "modes": tuple(fields["modes"]),
                "materials": tuple(
                    Material(
                        m["code"],
                        m["name"],
                        tuple(m["substitutes"]),
                        m["required"],
                        _tupled(m.get("paper_required_by")),
                    )
                    for m in fields["materials"]
                ),
                "joint_parts": tuple(
                    JointPart(p["code"], p["name"], p["role"]) for p in fields["joint_parts"]
                ),
                "clock_stops": ClockStops.from_event_fields(fields.get("clock_stops")),
                "certificate": None if certificate is None else IssuedCertificateType(**certificate),
            }
        )

    def material(self, code: str) -> Material | None:
        return next((m for m in self.materials if m.code == code), None)


def _material_fields(material: Material) -> dict[str, Any]:
    fields = {**asdict(material), "substitutes": list(material.substitutes)}
    if material.paper_required_by is None:
        del fields["paper_required_by"]  # as materials were always recorded: no new version for nothing
    else:
        fields["paper_required_by"] = list(material.paper_required_by)
    return fields


def _material(index: int, raw: dict[str, Any]) -> Material:
    field = f"materials/{index}"
    substitutes = raw.get("substitutes", [])
    if not isinstance(substitutes, list) or not all(
        isinstance(s, str) and _TYPE_CODE.match(s) for s in substitutes
    ):
        raise InvalidField(f"{field}/substitutes", "must list certificate type codes (18 + 3 characters)")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise InvalidField(f"{field}/required", "must be true or false")
    paper = raw.get("paper_required_by")
    return Material(
        _code(f"{field}/code", str(raw.get("code", ""))),
        _name(f"{field}/name", str(raw.get("name", ""))),
        tuple(substitutes),
        required,
        None if paper is None else _articles(f"{field}/paper_required_by", paper),
    )


def _part(index: int, raw: dict[str, Any]) -> JointPart:
    field = f"joint_parts/{index}"
    role = str(raw.get("role", ""))
    if role not in PartRole.__members__:
        raise InvalidField(f"{field}/role", f"must be one of {', '.join(PartRole)}")
    return JointPart(
        _code(f"{field}/code", str(raw.get("code", ""))),
        _name(f"{field}/name", str(raw.get("name", ""))),
        role,
    )


class ServiceItem(Aggregate):
    """One province's service item; each publication is a new version."""

    class Published(Aggregate.Created):
        province: str
        definition: dict[str, Any]
        office_code: str
        operator_id: str

    class Revised(Aggregate.Event):
        definition: dict[str, Any]
        office_code: str
        operator_id: str

    @staticmethod
    def id_for(province: str, code: str) -> UUID:
        return uuid5(CATALOGUE_NAMESPACE, f"item:{province}:{code}")

    @classmethod
    def publish(cls, province: str, definition: ItemDefinition, actor: Actor, at: datetime) -> ServiceItem:
        if actor.province != province:
            raise InvalidField("province", "a province publishes only its own catalogue")
        return cls._create(
            cls.Published,
            id=cls.id_for(province, definition.code),
            province=province,
            definition=definition.as_event_fields(),
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @event(Published)
    def __init__(self, province: str, definition: dict[str, Any], office_code: str, operator_id: str) -> None:
        self.province = province
        self.definition = ItemDefinition.from_event_fields(definition)

    def revise(self, definition: ItemDefinition, actor: Actor, at: datetime) -> bool:
        """Publish a new version; False (and nothing recorded) when nothing changed."""
        if definition.code != self.definition.code:
            raise InvalidField("code", "an item keeps its code; publish a new item instead")
        if actor.province != self.province:
            raise InvalidField("province", "a province revises only its own catalogue")
        if definition == self.definition:
            return False
        self._revised(
            definition=definition.as_event_fields(),
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )
        return True

    @event(Revised)
    def _revised(
        self, definition: dict[str, Any], office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.definition = ItemDefinition.from_event_fields(definition)


class ServiceBundle(Aggregate):
    """一件事: several items filed as one application, with one list of materials and one delivery."""

    class Published(Aggregate.Created):
        province: str
        code: str
        name: str
        items: list[list[str]]  # [province, item code] pairs
        office_code: str
        operator_id: str

    @staticmethod
    def id_for(province: str, code: str) -> UUID:
        return uuid5(CATALOGUE_NAMESPACE, f"bundle:{province}:{code}")

    @classmethod
    def publish(
        cls, province: str, code: str, name: str, items: list[tuple[str, str]], actor: Actor, at: datetime
    ) -> ServiceBundle:
        if actor.province != province:
            raise InvalidField("province", "a province publishes only its own catalogue")
        if len(items) < 2 or len(set(items)) != len(items):
            raise InvalidField("items", "a bundle combines two or more distinct items")
        return cls._create(
            cls.Published,
            id=cls.id_for(province, _code("code", code)),
            province=province,
            code=code,
            name=_name("name", name),
            items=[list(pair) for pair in items],
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @event(Published)
    def __init__(
        self, province: str, code: str, name: str, items: list[list[str]], office_code: str, operator_id: str
    ) -> None:
        self.province = province
        self.code = code
        self.name = name
        self.items = [(p, c) for p, c in items]


class CatalogueIndex(Aggregate):
    """The item and bundle codes published for one province, so listing needs no table scan."""

    class Opened(Aggregate.Created):
        province: str

    class EntryAdded(Aggregate.Event):
        kind: str
        code: str

    @staticmethod
    def id_for(province: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:tongban:catalogue-index:{province}")

    @classmethod
    def open(cls, province: str, at: datetime) -> CatalogueIndex:
        return cls._create(cls.Opened, id=cls.id_for(province), province=province, timestamp=at)

    @event(Opened)
    def __init__(self, province: str) -> None:
        self.province = province
        self.items: list[str] = []
        self.bundles: list[str] = []

    def add(self, kind: str, code: str, at: datetime) -> bool:
        """Record a published item or bundle code; False (and nothing recorded) when already listed."""
        if kind not in ("item", "bundle"):
            raise InvalidField("kind", "must be item or bundle")
        if code in (self.items if kind == "item" else self.bundles):
            return False
        self._entry_added(kind=kind, code=code, timestamp=at)
        return True

    @event(EntryAdded)
    def _entry_added(self, kind: str, code: str, timestamp: datetime) -> None:
        (self.items if kind == "item" else self.bundles).append(code)
