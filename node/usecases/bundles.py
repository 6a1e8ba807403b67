"""一件事 (bundles): one application for several items, filed as one case per item, with one list of materials
attached once for every item that asks for it, and one combined delivery when every item has concluded."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from eventsourcing.persistence import IntegrityError

from aggregates.applicant import Applicant
from aggregates.bundle import BundleCase, item_mode, shared_materials
from aggregates.case import Case
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from node.store.application import AlreadyExists, Clock, NodeApplication, utc_now
from node.usecases.cases import SAVE_ATTEMPTS, CaseService, load
from node.usecases.catalogue import CatalogueService


class BundleService:
    def __init__(
        self,
        app: NodeApplication,
        cases: CaseService,
        catalogue: CatalogueService,
        clock: Clock = utc_now,
    ) -> None:
        self._app = app
        self._cases = cases
        self._catalogue = catalogue
        self._clock = clock

    def submit_bundle(
        self,
        actor: Actor,
        *,
        bundle_province: str,
        bundle_code: str,
        mode: str,
        applicant: dict[str, str],
    ) -> tuple[BundleCase, list[Case]]:
        """一件事: one application, one applicant registration, one case per item, saved together.

        Each item is filed in the requested mode when it allows it, else 全程网办 (FULL_ONLINE) when it allows
        that; an item that allows neither refuses the application, naming the item (``bundle.item_mode``).
        """
        now = self._clock()
        bundle = self._catalogue.bundle(bundle_province, bundle_code)
        items = [self._catalogue.current_item(province, code) for province, code in bundle.items]
        modes = [item_mode(item.definition, mode, actor.province) for item in items]
        person = Applicant.register(applicant["name"], applicant["id_type"], applicant["id_number"], now)
        bundle_id = uuid4()
        cases = [
            self._cases.new_case(
                actor, item.province, item.definition.code, chosen, {}, str(person.id), now, str(bundle_id)
            )
            for item, chosen in zip(items, modes, strict=True)
        ]
        filed = BundleCase.file(
            id=bundle_id,
            bundle_province=bundle_province,
            bundle_code=bundle_code,
            case_ids=[str(c.id) for c in cases],
            applicant_id=str(person.id),
            actor=actor,
            at=now,
        )
        self._app.save(*cases, person, filed)  # new aggregates with fresh ids: nothing to conflict with
        return filed, cases

    def bundle_materials(self, bundle_id: str) -> list[dict[str, Any]]:
        """The bundle's one list of materials: a material several items ask for is listed once, with each
        item case asking for it and whether it is attached there (``bundle.shared_materials``)."""
        _, cases = self.bundle_with_cases(bundle_id)
        return shared_materials(cases)

    def attach_to_bundle(
        self,
        bundle_id: str,
        actor: Actor,
        *,
        material_key: str,
        certificate_identifier: str | None = None,
        file_digest: str | None = None,
        purpose: str | None = None,
        consent_reference: str | None = None,
    ) -> list[str]:
        """Attach one material once, to every item case of the bundle that asks for it and lacks it; returns
        the case id of each attachment. The caller must be a party to each of those cases (checked for all
        before any is written)."""
        if (certificate_identifier is None) == (file_digest is None):
            raise InvalidField("certificate_identifier", "attach either a certificate or a file digest")
        bundle, cases = self.bundle_with_cases(bundle_id)
        entry = next((m for m in shared_materials(cases) if m["key"] == material_key), None)
        if entry is None:
            raise InvalidField("material_key", "no item of this bundle asks for that material")
        uses = [use for use in entry["items"] if not use["attached"]]
        if not uses:
            raise IllegalTransition(
                f"一件事 {bundle.bundle_code}", "attach that material to", "attached for every item already"
            )
        by_id = {str(case.id): case for case in cases}
        elsewhere = sorted(
            {by_id[u["case_id"]].item.code for u in uses if not self._cases.writes(by_id[u["case_id"]])}
        )
        if elsewhere:
            raise IllegalTransition(
                f"一件事 {bundle.bundle_code}",
                "attach one material to all its items at once",
                f"items {', '.join(elsewhere)} are written by another province now: attach to those cases",
            )
        strangers = sorted(
            {by_id[u["case_id"]].item.code for u in uses if not by_id[u["case_id"]].is_party(actor.province)}
        )
        if strangers:
            raise IllegalTransition(
                f"一件事 {bundle.bundle_code}",
                f"attach from province {actor.province} to",
                f"asking for it in items {', '.join(strangers)}, to which that province is no party",
            )
        # one use of the certificate (用证) for the bundle, recorded with the first item case that takes it
        use = None
        if certificate_identifier is not None:
            use = self._cases.material_use(actor, by_id[uses[0]["case_id"]], purpose, consent_reference)
        # an item may ask for it twice (e.g. both parents' ID cards): one step per material, not per case
        steps = [
            (
                use["case_id"],
                self._cases.attachment(
                    actor, use["material_code"], by_id[use["case_id"]], certificate_identifier, file_digest
                ),
            )
            for use in uses
        ]
        for _ in range(SAVE_ATTEMPTS):  # all item cases get it, or none does: one transaction
            now = self._clock()
            targets = {case_id: self._cases.case(case_id) for case_id, _step in steps}
            moved = sorted({t.item.code for t in targets.values() if not self._cases.writes(t)})
            if moved:  # forwarded meanwhile: its handling province writes it now
                raise IllegalTransition(
                    f"一件事 {bundle.bundle_code}",
                    "attach to all its items at once",
                    f"{', '.join(moved)} moved",
                )
            for case_id, step in steps:
                step(targets[case_id], now)
            try:
                self._app.save(*targets.values())
            except IntegrityError:
                continue
            if use is not None and certificate_identifier is not None:
                self._cases.record_material_use(certificate_identifier, use)
            return [case_id for case_id, _step in steps]
        raise AlreadyExists(f"一件事 {bundle.bundle_code} changed concurrently; retry")

    def deliver_bundle(self, bundle_id: str, actor: Actor, method: str, reference: str) -> BundleCase:
        """One combined delivery, once: every item case must have concluded; each is delivered with the
        bundle, in one transaction."""
        for _ in range(SAVE_ATTEMPTS):
            bundle, cases = self.bundle_with_cases(bundle_id)
            now = self._clock()
            bundle.deliver(method, reference, actor, cases, now)
            for case in cases:
                case.deliver_with_bundle(str(bundle.id), method, reference, actor, now)
            try:
                self._app.save(bundle, *cases)
            except IntegrityError:
                continue
            return bundle
        raise AlreadyExists(f"bundle case {bundle_id} changed concurrently; retry")

    def bundle_case(self, bundle_id: str) -> BundleCase:
        bundle: BundleCase = load(self._app, bundle_id, BundleCase, "bundle case", "bundle_id")
        return bundle

    def bundle_with_cases(self, bundle_id: str) -> tuple[BundleCase, list[Case]]:
        """The bundle case and its item cases, in filing order."""
        bundle = self.bundle_case(bundle_id)
        return bundle, [self._cases.case(case_id) for case_id in bundle.case_ids]
