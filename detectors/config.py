"""The detection configuration: every threshold and weight of the rules, the schemes and the
feedback step, in one validated, documented place.

Each parameter carries its unit (``weight`` in [0, 1], ``share`` in [0, 1], ``factor`` in
[0, 1], ``count`` >= 1, ``days``/``hours`` >= 0, ``z`` a z-score, ``euros`` >= 0) and one line
saying what it does; :meth:`DetectionConfig.describe` lists them (the README's table is held
against it by a test). Reason texts are built from these same values, so a reviewer reads the
threshold that fired. The values are a reviewer's prior, not fitted on labels.

Follows PyOD's ``BaseDetector`` habits: parameters are checked when the object is built, and a
bad value fails at once with its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

_CHECKS = {
    "weight": lambda v: 0.0 <= v <= 1.0,
    "share": lambda v: 0.0 <= v <= 1.0,
    "factor": lambda v: 0.0 <= v <= 1.0,
    "count": lambda v: isinstance(v, int) and v >= 1,
    "days": lambda v: v >= 0,
    "hours": lambda v: v >= 0,
    "z": lambda v: -50 <= v <= 50,
    "euros": lambda v: v >= 0,
    "score": lambda v: 0.0 <= v <= 100.0,
}


def _p(default: Any, unit: str, doc: str) -> Any:
    return field(default=default, metadata={"unit": unit, "doc": doc})


class _Checked:
    """Validate every field against its unit when the object is built."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            unit = f.metadata.get("unit")
            if unit is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{type(self).__name__}.{f.name} must be a number, got {value!r}")
            if not _CHECKS[unit](value):
                raise ValueError(f"{type(self).__name__}.{f.name} = {value!r} is not a valid {unit}")


@dataclass(frozen=True)
class TakeoverConfig(_Checked):
    """Account takeover: the sequence around an IBAN change, scored by noisy-OR of its parts."""

    security_event_72h: float = _p(
        0.35, "weight", "password reset / new device within 72 h before the change"
    )
    security_event_14d: float = _p(0.2, "weight", "password reset / new device within 14 days before")
    foreign_ip: float = _p(
        0.35, "weight", "a session from a foreign IP around the change (not a move abroad)"
    )
    contact_change: float = _p(0.35, "weight", "e-mail or phone changed within 30 days before")
    new_bank_abroad: float = _p(0.3, "weight", "new account abroad while the old one was French")
    rare_bank: float = _p(0.25, "weight", "online bank, or a bank rare in the portfolio")
    rare_bank_share: float = _p(0.002, "share", "below this share of the portfolio's accounts a bank is rare")
    household_left_out: float = _p(0.15, "weight", "the rest of the household kept the old account")
    shared_account: float = _p(0.5, "weight", "the new account is also used by other contracts elsewhere")
    fast_upload: float = _p(
        0.35, "weight", "an invoice sent by the member paid to it within fast_upload_days"
    )
    fast_upload_days: int = _p(7, "days", "first payment this soon after the change makes an upload fast")
    upload_30d: float = _p(0.15, "weight", "an invoice sent by the member paid to it within 30 days")
    high_risk_upload: float = _p(0.2, "weight", "those uploads are optical / dental / hearing / osteopathy")
    after_breach: float = _p(0.15, "weight", "the member was exposed in a breach before the change")
    large_payout: float = _p(
        0.3,
        "weight",
        "much paid to it within 30 days, log-scaled from payout_floor_euros (0) to payout_cap_euros "
        "(full): a takeover is made to take money out fast",
    )
    payout_floor_euros: float = _p(150.0, "euros", "paid to the new account within 30 days without weight")
    payout_cap_euros: float = _p(1500.0, "euros", "paid within 30 days at which large_payout is full")
    moved_abroad_factor: float = _p(
        0.25,
        "factor",
        "takeover score kept for a consistent move abroad (sessions and new bank in one country, "
        "no contact change)",
    )
    min_score: float = _p(0.3, "weight", "an IBAN change scoring at least this flags the lines paid to it")
    no_payment_min_score: float = _p(
        0.5, "weight", "a change scoring this flags the member before any payment"
    )
    no_payment_factor: float = _p(0.5, "factor", "share of the takeover score kept before any payment")
    diverted_line_factor: float = _p(
        0.6, "factor", "share kept on a line the member did not send (real care, diverted payment)"
    )
    household_factor: float = _p(
        0.9, "factor", "share kept on a relative's line (same contract) paid to the account the takeover set"
    )
    window_days: int = _p(90, "days", "lines received this long after the change count as paid to it")


@dataclass(frozen=True)
class MuleConfig(_Checked):
    """Mule accounts: one IBAN collecting for unrelated contracts."""

    min_contracts: int = _p(2, "count", "contracts (subscribers) an account must serve to be shared")
    min_addresses: int = _p(2, "count", "addresses an account must serve to be shared")
    ring_departments: int = _p(2, "count", "departments of a ring (guardianship associations stay in one)")
    ring_switch_days: int = _p(60, "days", "members switched to the account within this span make a ring")
    ring_contracts: int = _p(3, "count", "contracts that make a ring whatever the span")
    ring_large: float = _p(0.85, "weight", "a ring of ring_contracts contracts or more")
    ring: float = _p(0.7, "weight", "a ring of fewer contracts")
    local_stable: float = _p(0.35, "weight", "a shared account, local and stable (guardianship association)")


@dataclass(frozen=True)
class ProviderConfig(_Checked):
    """Fake providers: billing a breach-exposed clientele it never treated."""

    min_patients: int = _p(5, "count", "patients below which a provider is not judged")
    exposure_z: float = _p(2.5, "z", "breach exposure of its patients this many sd above the portfolio")
    exposure_share: float = _p(0.5, "share", "and at least this share of its patients breach-exposed")
    strong_exposure_z: float = _p(5.0, "z", "exposure z-score that counts as strong")
    exposed_strong: float = _p(0.7, "weight", "strongly over-exposed clientele")
    exposed: float = _p(0.5, "weight", "over-exposed clientele")
    sudden_span_days: int = _p(120, "days", "new to the portfolio with all first visits within this span")
    sudden: float = _p(0.3, "weight", "new and sudden")
    far_share: float = _p(0.6, "share", "share of patients outside its department that is far")
    far: float = _p(0.3, "weight", "patients far from home")
    bad_key: float = _p(0.35, "weight", "FINESS / RPPS number with a wrong Luhn key (ADELI has none)")
    min_components: int = _p(2, "count", "exposure plus at least this many components in all")


@dataclass(frozen=True)
class DuplicateConfig(_Checked):
    """The same care unit paid twice: one electronic line, then a copy sent by the member."""

    single_event: float = _p(0.35, "weight", "one duplicated care event (a coincidence happens)")
    two_events: float = _p(0.8, "weight", "two duplicated care events of the member")
    many_events: float = _p(0.9, "weight", "three or more duplicated care events")
    amount_bonus: float = _p(
        0.35,
        "weight",
        "added for an expensive copy, log-scaled from cheap_euros (0) to amount_cap_euros (full)",
    )
    cheap_euros: float = _p(30.0, "euros", "a copy this cheap gets no amount bonus (a cheap coincidence)")
    amount_cap_euros: float = _p(500.0, "euros", "claimed amount at which the amount bonus is full")
    both_electronic_factor: float = _p(
        0.6, "factor", "share kept when both lines are electronic (noemie + tiers payant)"
    )
    tolerance_euros: float = _p(0.01, "euros", "rounding tolerance when totals are compared")
    recovery: float = _p(0.5, "weight", "score of an honest double submission on the recovery list")


@dataclass(frozen=True)
class BehaviourConfig(_Checked):
    """Behaviour change after a breach, on invoices the member sent."""

    new_category: float = _p(0.2, "weight", "first invoice of a high-risk kind, high for the member's peers")
    new_category_peer_z: float = _p(1.5, "z", "amount this many sd above peers (age band, sex, kind)")
    dormant: float = _p(0.15, "weight", "a high-risk invoice after a long silence")
    dormant_days: int = _p(180, "days", "days without care that make a silence long")
    breach_exposed: float = _p(0.05, "weight", "a value the member ever had is in a breach list (context)")


@dataclass(frozen=True)
class CombineConfig(_Checked):
    """How reasons and the ensemble make a score, and who becomes a case."""

    secondary_share: float = _p(0.5, "factor", "further reasons add with this share of their weight")
    ensemble_share: float = _p(
        0.2,
        "share",
        "the ensemble adds this share of what the rules leave unexplained: score = 100 x (1 - (1 - rule) "
        "x (1 - ensemble_share x ensemble))",
    )
    case_rule_score: float = _p(0.3, "weight", "a member becomes a case with this much rule evidence")
    case_ensemble_score: float = _p(0.995, "share", "or when the ensemble puts it above this quantile")
    anomaly_reason_score: float = _p(
        0.99, "share", "ensemble quantile that adds the ANOMALOUS_PROFILE reason"
    )
    suspicious_line_weight: float = _p(0.3, "weight", "a line flagged this strongly is a suspicious line")


@dataclass(frozen=True)
class SchemeConfig(_Checked):
    """Schemes: members linked by one mule account, one fake provider or one household takeover."""

    min_members: int = _p(2, "count", "members that make a scheme")
    min_link_weight: float = _p(0.5, "weight", "a link this strong puts a member in a scheme")
    size_bonus: float = _p(0.05, "weight", "scheme score rises by this per doubling of its members")
    lead_members: int = _p(
        1, "count", "a ring's strongest members ranked on their own score alone (a ring: several contracts)"
    )
    follower_step_back: float = _p(
        20.0,
        "score",
        "each further member of a ring ranks this many points lower per member before it beyond the "
        "leads, among strong cases only",
    )
    queue_capacity: int = _p(
        200,
        "count",
        "cases reviewers work through at the top of the queue in one cycle: a ring's strongest further "
        "members keep their scores while every distinct strong incident still fits in it",
    )
    strong_case_score: float = _p(
        80.0,
        "score",
        "a further member never ranks below a case of its own weaker than this (or than itself)",
    )


@dataclass(frozen=True)
class FeedbackConfig(_Checked):
    """What reviewers' decisions change in the next run."""

    min_decisions: int = _p(10, "count", "decided members needed before the semi-supervised step runs")
    min_fraud: int = _p(3, "count", "confirmed frauds needed for it")
    model_share: float = _p(0.15, "share", "share of the semi-supervised probability in the final score")
    unlabelled_negatives: int = _p(2000, "count", "unreviewed low-score members sampled as likely legitimate")
    unlabelled_weight: float = _p(0.2, "factor", "weight of such a member in the fit (a reviewer's is 1)")
    min_legitimate: int = _p(
        3,
        "count",
        "members cleared as legitimate needed for it (with fewer, unreviewed low scores are the only "
        "negatives and the model learns the unsupervised score back)",
    )
    confirmed_scheme: float = _p(
        0.0,
        "weight",
        "reason weight for a member of a scheme confirmed as fraud (its open members already rank on "
        "their own scores at the top: a lift would erase the order their own evidence gives)",
    )
    reason_prior_precision: float = _p(
        0.8, "share", "share of a fraud reason's cases a reviewer expects to confirm, before any decision"
    )
    reason_prior_decisions: int = _p(
        4, "count", "decisions that prior is worth: a reason decided less often keeps most of its weight"
    )
    reason_min_factor: float = _p(
        0.25, "factor", "a reason reviewers found mostly legitimate keeps at least this share of its weight"
    )
    confirmed_link_weight: float = _p(
        0.6,
        "weight",
        "a member's own link to a confirmed scheme must be this strong to be lifted (a payment merely "
        "diverted to the account, e.g. a relative's, weighs less)",
    )


@dataclass(frozen=True)
class DetectionConfig:
    """Every parameter of detection.

    Parameters
    ----------
    takeover, mule, provider, duplicate, behaviour, combine, schemes, feedback :
        The parameter groups; see each class. ``DetectionConfig().describe()`` lists every
        parameter with its value, unit and meaning.
    high_risk_categories : tuple of str
        Kinds of care a forged invoice favours (optical, dental, hearing, osteopathy...).
    establishment_categories : tuple of str
        Kinds of care billed by establishments (FINESS, 9 characters, Luhn key): a 9-digit
        number of a provider billing anything else is an ADELI number and has no key.
    """

    takeover: TakeoverConfig = field(default_factory=TakeoverConfig)
    mule: MuleConfig = field(default_factory=MuleConfig)
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    duplicate: DuplicateConfig = field(default_factory=DuplicateConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    combine: CombineConfig = field(default_factory=CombineConfig)
    schemes: SchemeConfig = field(default_factory=SchemeConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    high_risk_categories: tuple[str, ...] = ("optical", "dental", "hearing", "alternative_medicine")
    establishment_categories: tuple[str, ...] = (
        "pharmacy",
        "lab",
        "imaging",
        "hospital",
        "optical",
        "hearing",
    )

    def __post_init__(self) -> None:
        groups = {
            "takeover": TakeoverConfig,
            "mule": MuleConfig,
            "provider": ProviderConfig,
            "duplicate": DuplicateConfig,
            "behaviour": BehaviourConfig,
            "combine": CombineConfig,
            "schemes": SchemeConfig,
            "feedback": FeedbackConfig,
        }
        for name, cls in groups.items():
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"DetectionConfig.{name} must be a {cls.__name__}")
        known = {
            "consultation",
            "pharmacy",
            "lab",
            "imaging",
            "hospital",
            "dental",
            "optical",
            "hearing",
            "paramedical",
            "alternative_medicine",
        }
        for name in ("high_risk_categories", "establishment_categories"):
            unknown = set(getattr(self, name)) - known
            if unknown:
                raise ValueError(f"DetectionConfig.{name}: unknown care categories {sorted(unknown)}")
        if self.duplicate.amount_cap_euros <= max(self.duplicate.cheap_euros, 1.0):
            raise ValueError("duplicate.amount_cap_euros must be above duplicate.cheap_euros")
        if self.takeover.payout_cap_euros <= max(self.takeover.payout_floor_euros, 1.0):
            raise ValueError("takeover.payout_cap_euros must be above takeover.payout_floor_euros")
        if self.takeover.no_payment_min_score < self.takeover.min_score:
            raise ValueError("takeover.no_payment_min_score must be >= takeover.min_score")

    def with_(self, **groups: dict[str, Any]) -> DetectionConfig:
        """A copy with some parameters changed: ``config.with_(duplicate={"single_event": 0.3})``."""
        changed = {name: replace(getattr(self, name), **values) for name, values in groups.items()}
        return replace(self, **changed)

    def describe(self) -> list[dict[str, Any]]:
        """Every parameter: group, name, value, unit, meaning."""
        rows = []
        for group in fields(self):
            value = getattr(self, group.name)
            if not isinstance(value, _Checked):
                continue
            for f in fields(value):
                rows.append(
                    {
                        "group": group.name,
                        "name": f.name,
                        "value": getattr(value, f.name),
                        "unit": f.metadata["unit"],
                        "meaning": f.metadata["doc"],
                    }
                )
        return rows

    def version(self) -> str:
        """A short fingerprint of the values (recorded with every scoring run)."""
        import hashlib

        text = repr([(r["group"], r["name"], r["value"]) for r in self.describe()])
        text += repr((self.high_risk_categories, self.establishment_categories))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


DEFAULT_CONFIG = DetectionConfig()
