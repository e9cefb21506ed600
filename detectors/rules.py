"""Explicit rules with reason codes: each fires with a weight in (0, 1) and a sentence.

Input: polars frames of the SQL features (``sql/features``). Output: one row per
(claim line, reason code) and per (member, reason code), each with a weight and a reason a
reviewer can read. Weights combine by noisy-OR: independent evidence adds up, one weak
signal alone stays weak. Higher = more suspicious. Every threshold and weight comes from a
:class:`~claimwatch.detectors.config.DetectionConfig`, and the reason texts quote them. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from claimwatch.detectors.config import DEFAULT_CONFIG, DetectionConfig


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    weight: str  # where the weight comes from (config parameters, or computed)
    queue: str = "fraud"  # the list a reason puts a member on: fraud, recovery, or context


# The reason codes a case can carry.
RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("ACCOUNT_TAKEOVER", "IBAN changed in a takeover pattern, then paid", "takeover score"),
        Rule(
            "HOUSEHOLD_TAKEOVER", "a relative's invoice paid to the account a takeover set", "takeover score"
        ),
        Rule(
            "TAKEOVER_NO_PAYMENT_YET", "IBAN changed in a takeover pattern, no payment yet", "takeover score"
        ),
        Rule("MULE_ACCOUNT", "paid to an account shared with unrelated contracts", "mule.*"),
        Rule("SUSPICIOUS_PROVIDER", "billed by a provider with a fake-provider pattern", "provider score"),
        Rule("DUPLICATE_CLAIM", "the same care unit paid again after it was paid", "duplicate.*"),
        Rule(
            "NEW_CATEGORY_HIGH_AMOUNT",
            "first high-cost invoice of a kind, sent by the member",
            "behaviour.new_category",
        ),
        Rule(
            "DORMANT_THEN_INVOICE",
            "long silence, then a high-cost invoice sent by the member",
            "behaviour.dormant",
        ),
        Rule(
            "CONFIRMED_SCHEME",
            "another member of the scheme was confirmed as fraud",
            "feedback.confirmed_scheme",
        ),
        Rule("ANOMALOUS_PROFILE", "profile unlike the portfolio (PyOD ensemble)", "context", "context"),
        Rule("BREACH_EXPOSED", "identifiers found in a breach list", "behaviour.breach_exposed", "context"),
        Rule(
            "RECOVERABLE_OVERPAYMENT",
            "an honest double submission (the member's invoice came before the RO line): recover it",
            "duplicate.recovery",
            "recovery",
        ),
    )
}
RECOVERY_CODES = tuple(code for code, r in RULES.items() if r.queue == "recovery")
# schemes: the reason codes whose ``incident`` links members into one investigation
SCHEME_CODES = ("MULE_ACCOUNT", "SUSPICIOUS_PROVIDER", "ACCOUNT_TAKEOVER", "HOUSEHOLD_TAKEOVER")


def noisy_or(weights: list[pl.Expr]) -> pl.Expr:
    """Combine independent evidence weights in [0, 1]: 1 - prod(1 - w)."""
    product = pl.lit(1.0)
    for w in weights:
        product = product * (1 - w.fill_null(0.0).clip(0.0, 1.0))
    return 1 - product


def _piece(condition: pl.Expr, text: pl.Expr | str) -> pl.Expr:
    text_expr = pl.lit(text) if isinstance(text, str) else text
    return pl.when(condition).then(text_expr).otherwise(pl.lit(None, dtype=pl.String))


def _join(pieces: list[pl.Expr], separator: str = "; ") -> pl.Expr:
    return pl.concat_str(pieces, separator=separator, ignore_nulls=True)


def _ago(hours: pl.Expr) -> pl.Expr:
    """'5 h before' under a day, '3 day(s) before' beyond."""
    return (
        pl.when(hours < 24)
        .then(hours.cast(pl.String) + pl.lit(" h before"))
        .otherwise((hours // 24).cast(pl.String) + pl.lit(" day(s) before"))
    )


def _eur(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).round(0).cast(pl.Int64).cast(pl.String) + pl.lit(" €")


def _pct(share: float) -> str:
    return f"{share * 100:g}%"


# --------------------------------------------------------------------------- IBAN changes


def score_iban_changes(changes: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG) -> pl.DataFrame:
    """Score each IBAN change for account takeover; add ``takeover_score``, ``moved_abroad`` and a
    reason.

    A move abroad (sessions from one foreign country, an account at a bank of that same country,
    no e-mail/phone change) keeps only ``takeover.moved_abroad_factor`` of its score: a takeover
    seldom shows that consistency. A border worker keeps a foreign account in one country; an
    account moved from there to a *third* country is no border-worker habit and is scored in full.
    """
    t = config.takeover
    c = pl.col
    previous_country = c("previous_iban_country").fill_null("")
    border_worker = (
        c("previous_iban_foreign") & c("new_iban_foreign") & (previous_country == c("new_iban_country"))
    )
    security_recent = c("security_events_14d_before") > 0
    foreign_ip = (c("foreign_ip_events_14d") > 0) & ~border_worker
    contact = c("contact_changes_30d_before") > 0
    new_foreign = c("new_iban_foreign") & ~border_worker
    rare_bank = c("new_bank_online") | (c("new_bank_share") < t.rare_bank_share)
    household_left_out = (c("household_size") > 1) & (c("household_members_on_new_iban") == 0)
    shared = (
        (c("new_iban_subscribers_linked") >= 2)
        & (c("new_iban_postcodes_linked") >= 2)
        & (c("new_iban_departments_linked") >= 2)
    )
    moved_abroad = (
        c("new_iban_foreign")
        & ~contact
        & (c("foreign_ip_countries") == 1)
        & (c("foreign_ip_country") == c("new_iban_country")).fill_null(False)
        # a foreign account moved to a third country is no move of a border worker
        & ~(c("previous_iban_foreign") & (previous_country != c("new_iban_country")))
        & ~shared
    )
    fast_upload = (c("uploaded_payments_30d") > 0) & (c("days_to_first_payment") <= t.fast_upload_days)
    upload_30d = c("uploaded_payments_30d") > 0
    high_risk = c("high_risk_payments_30d") > 0
    # what a takeover is for: money out fast. Ordinary claims after a legitimate change are
    # small (a consultation, a pharmacy box); the weight grows with the log of the amount
    payout_floor = max(t.payout_floor_euros, 1.0)
    payout = (
        c("amount_paid_30d").cast(pl.Float64).fill_null(0.0).clip(payout_floor, t.payout_cap_euros)
        / payout_floor
    ).log() / _log(t.payout_cap_euros / payout_floor)
    large_payout = payout > 0
    raw = noisy_or(
        [
            pl.when(security_recent & (c("hours_since_security_event") <= 72))
            .then(t.security_event_72h)
            .when(security_recent)
            .then(t.security_event_14d),
            pl.when(foreign_ip).then(t.foreign_ip),
            pl.when(contact).then(t.contact_change),
            pl.when(new_foreign).then(t.new_bank_abroad),
            pl.when(rare_bank).then(t.rare_bank),
            pl.when(household_left_out).then(t.household_left_out),
            pl.when(shared).then(t.shared_account),
            pl.when(fast_upload).then(t.fast_upload).when(upload_30d).then(t.upload_30d),
            pl.when(high_risk & upload_30d).then(t.high_risk_upload),
            pl.when(c("changed_after_breach")).then(t.after_breach),
            t.large_payout * payout,
        ]
    )
    scored = changes.with_columns(
        moved_abroad=moved_abroad.fill_null(False),
        takeover_score=pl.when(moved_abroad.fill_null(False))
        .then(raw * t.moved_abroad_factor)
        .otherwise(raw),
        takeover_reason=pl.concat_str(
            [
                pl.lit("IBAN changed on "),
                c("change_date").cast(pl.String),
                pl.lit(" via "),
                c("channel"),
                pl.when(foreign_ip)
                .then(pl.lit(" from a foreign IP (") + c("foreign_ip_country").fill_null("?") + pl.lit(")"))
                .otherwise(pl.lit("")),
                pl.lit(" ("),
                _join(
                    [
                        _piece(
                            security_recent,
                            pl.lit("password reset / new device ") + _ago(c("hours_since_security_event")),
                        ),
                        _piece(
                            contact, pl.lit("e-mail/phone changed ") + _ago(c("hours_since_contact_change"))
                        ),
                        _piece(
                            new_foreign & c("previous_iban_foreign"),
                            pl.lit("foreign account moved from ")
                            + previous_country
                            + pl.lit(" to a third country (")
                            + c("new_iban_country")
                            + pl.lit(")"),
                        ),
                        _piece(
                            new_foreign & ~c("previous_iban_foreign"),
                            pl.lit("new bank abroad (") + c("new_iban_country") + pl.lit(")"),
                        ),
                        _piece(c("new_bank_online"), "online bank"),
                        _piece(
                            ~c("new_bank_online") & (c("new_bank_share") < t.rare_bank_share),
                            f"bank rare in the portfolio (< {_pct(t.rare_bank_share)} of accounts)",
                        ),
                        _piece(household_left_out, "rest of the household kept the old account"),
                        _piece(
                            shared,
                            pl.lit("account also used by ")
                            + (c("new_iban_subscribers_linked") - 1).cast(pl.String)
                            + pl.lit(" other contract(s)"),
                        ),
                        _piece(c("changed_after_breach"), "member exposed in a breach before the change"),
                        _piece(
                            large_payout,
                            _eur(c("amount_paid_30d"))
                            + pl.lit(f" paid to it within 30 days (over {t.payout_floor_euros:g} €)"),
                        ),
                        _piece(
                            moved_abroad.fill_null(False),
                            f"consistent with a move abroad: sessions and bank in one country, no contact "
                            f"change (score x {t.moved_abroad_factor:g})",
                        ),
                    ],
                    ", ",
                ),
                pl.lit(")"),
                pl.when(c("payments_30d") > 0)
                .then(
                    pl.lit(", then ")
                    + c("payments_30d").cast(pl.String)
                    + pl.lit(" payment(s) (")
                    + c("categories_paid_30d").fill_null("")
                    + pl.lit(", ")
                    + _eur(c("amount_paid_30d"))
                    + pl.lit(") to it within 30 days, first after ")
                    + c("days_to_first_payment").cast(pl.String)
                    + pl.lit(" day(s)")
                )
                .otherwise(pl.lit("")),
            ]
        ).str.replace_all(r" \(\)", ""),
    )
    return scored


# --------------------------------------------------------------------------- providers


def score_providers(providers: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG) -> pl.DataFrame:
    """Score providers for the fake-provider pattern; add ``provider_score`` and a reason.

    Exposure of its clientele is what ties a provider to a breach: without it, no flag. A bad
    check key counts only where the registry has one (FINESS, RPPS; ``registry_key_valid`` is
    null for ADELI numbers)."""
    p = config.provider
    c = pl.col
    enough = c("patients") >= p.min_patients
    over_exposed = enough & (c("exposure_z") >= p.exposure_z) & (c("exposed_share") >= p.exposure_share)
    sudden = enough & c("new_to_portfolio") & (c("first_visit_span_days") <= p.sudden_span_days)
    far = (enough & (c("outside_department_share") >= p.far_share)).fill_null(False)
    bad_key = c("registry_key_valid").eq(False).fill_null(False)
    components = over_exposed.cast(pl.Int8) + sudden.cast(pl.Int8) + far.cast(pl.Int8) + bad_key.cast(pl.Int8)
    score = noisy_or(
        [
            pl.when(over_exposed & (c("exposure_z") >= p.strong_exposure_z))
            .then(p.exposed_strong)
            .when(over_exposed)
            .then(p.exposed),
            pl.when(sudden).then(p.sudden),
            pl.when(far).then(p.far),
            pl.when(bad_key).then(p.bad_key),
        ]
    )
    registry = c("registry").fill_null("registry") if "registry" in providers.columns else pl.lit("registry")
    return providers.with_columns(
        provider_score=pl.when(over_exposed & (components >= p.min_components)).then(score).otherwise(0.0),
        provider_reason=pl.concat_str(
            [
                pl.lit("billed by provider "),
                c("provider_id"),
                pl.lit(" ("),
                _join(
                    [
                        _piece(
                            c("new_to_portfolio"), pl.lit("first seen ") + c("first_seen").cast(pl.String)
                        ),
                        pl.lit("")
                        + c("patients").cast(pl.String)
                        + pl.lit(" members, ")
                        + (c("exposed_share") * 100).round(0).cast(pl.Int64).cast(pl.String)
                        + pl.lit("% breach-exposed vs ")
                        + (c("portfolio_exposure_rate") * 100).round(0).cast(pl.Int64).cast(pl.String)
                        + pl.lit("% overall"),
                        _piece(
                            far,
                            (c("outside_department_share") * 100).round(0).cast(pl.Int64).cast(pl.String)
                            + pl.lit("% of them outside its department"),
                        ),
                        _piece(bad_key, pl.lit("invalid ") + registry + pl.lit(" check key")),
                    ],
                    ", ",
                ),
                pl.lit(")"),
            ]
        ),
    )


# --------------------------------------------------------------------------- claim lines


def is_candidate_line(
    flagged_providers: pl.Series | list[str], config: DetectionConfig = DEFAULT_CONFIG
) -> pl.Expr:
    """The lines of ``sql/features/claim_signals.sql`` that can carry a rule reason: only they
    need to reach the rules (memory stays bounded by suspicion, not by history)."""
    c = pl.col
    return (
        c("iban_change_event_id").is_not_null()
        | c("household_change_event_id").is_not_null()
        | (c("payee_iban_subscribers_linked") >= config.mule.min_contracts)
        | c("is_duplicate_payment")
        | (c("member_sent") & c("care_category").is_in(list(config.high_risk_categories)) & c("after_breach"))
        | c("provider_id").is_in(pl.Series(list(flagged_providers), dtype=pl.String).implode())
    )


def flag_claims(
    signals: pl.DataFrame,
    changes: pl.DataFrame,
    providers: pl.DataFrame,
    config: DetectionConfig = DEFAULT_CONFIG,
) -> pl.DataFrame:
    """Return one row per (claim line, reason code) with weight, reason and, for reasons that
    link members (an account, a provider), the ``incident`` they share.

    ``changes`` and ``providers`` are the outputs of :func:`score_iban_changes` and
    :func:`score_providers`.
    """
    t, mu, d, b = config.takeover, config.mule, config.duplicate, config.behaviour
    c = pl.col
    base = ["claim_id", "member_id", "claimed_amount"]
    # an invoice the member sent (upload, paper) can be forged; a line the Assurance Maladie
    # or a provider transmitted is real care whose payment was diverted: weaker evidence
    line_factor = pl.when(c("member_sent")).then(1.0).otherwise(t.diverted_line_factor)
    scored_changes = changes.select("event_id", "member_id", "takeover_score", "takeover_reason")
    takeover = (
        signals.filter(c("iban_change_event_id").is_not_null())
        .join(
            scored_changes.drop("member_id"), left_on="iban_change_event_id", right_on="event_id", how="inner"
        )
        .filter(c("takeover_score") >= t.min_score)
        .select(
            *base,
            incident=pl.lit("account:") + c("payee_iban_hash"),
            reason_code=pl.lit("ACCOUNT_TAKEOVER"),
            weight=c("takeover_score") * line_factor,
            reason=c("takeover_reason"),
        )
    )
    household = (
        signals.filter(c("household_change_event_id").is_not_null())
        .join(
            scored_changes.rename({"member_id": "changed_by"}),
            left_on="household_change_event_id",
            right_on="event_id",
            how="inner",
        )
        .filter(c("takeover_score") >= t.min_score)
        .select(
            *base,
            incident=pl.lit("account:") + c("payee_iban_hash"),
            reason_code=pl.lit("HOUSEHOLD_TAKEOVER"),
            weight=c("takeover_score") * t.household_factor * line_factor,
            reason=pl.lit("a ")
            + c("care_category")
            + pl.lit(" line of this member (")
            + _eur(c("claimed_amount"))
            + pl.lit(", via ")
            + c("source")
            + pl.lit(") paid to the account set on the contract by a takeover of member ")
            + c("changed_by")
            + pl.lit("'s account: ")
            + c("takeover_reason"),
        )
    )
    unrelated = (c("payee_iban_subscribers_linked") >= mu.min_contracts) & (
        c("payee_iban_postcodes_linked") >= mu.min_addresses
    )
    # a mule account is set on members across the country within weeks; a guardianship
    # association's account serves protected adults of one department for years
    ring = (c("payee_iban_departments_linked") >= mu.ring_departments) & (
        (
            (c("payee_iban_members_switched") >= 2)
            & (c("payee_iban_switch_span_days") <= mu.ring_switch_days)
        ).fill_null(False)
        | (c("payee_iban_subscribers_linked") >= mu.ring_contracts)
    )
    mule = signals.filter(unrelated).select(
        *base,
        incident=pl.lit("account:") + c("payee_iban_hash"),
        reason_code=pl.lit("MULE_ACCOUNT"),
        weight=pl.when(ring & (c("payee_iban_subscribers_linked") >= mu.ring_contracts))
        .then(mu.ring_large)
        .when(ring)
        .then(mu.ring)
        .otherwise(mu.local_stable)
        * line_factor,
        reason=pl.lit("paid to an account shared by ")
        + c("payee_iban_members_linked").cast(pl.String)
        + pl.lit(" members of ")
        + c("payee_iban_subscribers_linked").cast(pl.String)
        + pl.lit(" different contracts at ")
        + c("payee_iban_postcodes_linked").cast(pl.String)
        + pl.lit(" addresses in ")
        + c("payee_iban_departments_linked").cast(pl.String)
        + pl.lit(" department(s)")
        + pl.when(c("payee_iban_members_switched") >= 2)
        .then(
            pl.lit(", set on ")
            + c("payee_iban_members_switched").cast(pl.String)
            + pl.lit(" of them within ")
            + c("payee_iban_switch_span_days").cast(pl.String)
            + pl.lit(" days")
        )
        .otherwise(pl.lit("")),
    )
    provider = (
        signals.join(
            providers.select("provider_id", "provider_score", "provider_reason"),
            on="provider_id",
            how="inner",
        )
        .filter(c("provider_score") > 0)
        .select(
            *base,
            incident=pl.lit("provider:") + c("provider_id"),
            reason_code=pl.lit("SUSPICIOUS_PROVIDER"),
            weight=c("provider_score"),
            reason=c("provider_reason"),
        )
    )
    electronic_first = ~c("duplicate_of_source").is_in(["member_upload", "paper"])
    duplicates = signals.filter(c("is_duplicate_payment"))
    # a copy the member sent after the care was paid is the fraud pattern; a member's invoice
    # that came before the RO line (or two electronic lines), or a member's invoice sent twice
    # (by paper and uploaded), is an honest double submission
    resent = c("resends_member_invoice").fill_null(False)
    copies = duplicates.filter(c("member_sent") & ~resent).with_columns(
        events=pl.struct("care_date", "act_code").n_unique().over("member_id")
    )
    cheap = max(d.cheap_euros, 1.0)
    amount_bonus = d.amount_bonus * (
        (c("claimed_amount").cast(pl.Float64).clip(cheap, d.amount_cap_euros) / cheap).log()
        / _log(d.amount_cap_euros / cheap)
    )
    duplicate = copies.select(
        *base,
        reason_code=pl.lit("DUPLICATE_CLAIM"),
        weight=(
            pl.when(c("events") >= 3)
            .then(d.many_events)
            .when(c("events") == 2)
            .then(d.two_events)
            .otherwise(d.single_event)
            + amount_bonus
        ).clip(0, 1),
        reason=pl.lit("same care (act ")
        + c("act_code")
        + pl.lit(" on ")
        + c("care_date").cast(pl.String)
        + pl.lit(", ")
        + _eur(c("billed_amount"))
        + pl.when(c("care_units") > 1)
        .then(pl.lit(", ") + c("care_units").cast(pl.String) + pl.lit(" units compared per unit"))
        .otherwise(pl.lit(""))
        + pl.lit(") already paid via ")
        + c("duplicate_of_source")
        + pl.lit(" (line ")
        + c("duplicate_of_claim_id")
        + pl.lit("), claimed again via ")
        + c("source")
        + pl.lit("; ")
        + c("events").cast(pl.String)
        + pl.lit(" duplicated care event(s) for this member"),
    )
    recovery = duplicates.filter(~c("member_sent") | resent).select(
        *base,
        reason_code=pl.lit("RECOVERABLE_OVERPAYMENT"),
        weight=pl.lit(d.recovery),
        reason=pl.lit("paid twice: ")
        + pl.when(resent)
        .then(pl.lit("the member's own invoice (line ") + c("resent_claim_id") + pl.lit(") sent again via "))
        .when(electronic_first)
        .then(pl.lit("two electronic lines (") + c("duplicate_of_source") + pl.lit(", line "))
        .otherwise(pl.lit("the member's invoice (") + c("duplicate_of_source") + pl.lit(", line "))
        + pl.when(resent)
        .then(c("source"))
        .otherwise(c("duplicate_of_claim_id") + pl.lit(") came before this ") + c("source") + pl.lit(" line"))
        + pl.lit(" for the same care (act ")
        + c("act_code")
        + pl.lit(" on ")
        + c("care_date").cast(pl.String)
        + pl.lit("): an honest double submission, ")
        + _eur(c("claimed_amount"))
        + pl.lit(" to recover"),
    )
    member_sent_high = (
        c("member_sent") & c("care_category").is_in(list(config.high_risk_categories)) & c("after_breach")
    )
    new_category = signals.filter(
        member_sent_high & c("first_use_of_category") & (c("amount_peer_z") >= b.new_category_peer_z)
    ).select(
        *base,
        reason_code=pl.lit("NEW_CATEGORY_HIGH_AMOUNT"),
        weight=pl.lit(b.new_category),
        reason=pl.lit("first ")
        + c("care_category")
        + pl.lit(" invoice ever (")
        + _eur(c("claimed_amount"))
        + pl.lit(f", over {b.new_category_peer_z:g} sd above the member's age and sex) sent via ")
        + c("source"),
    )
    dormant = signals.filter(member_sent_high & (c("days_since_previous_care") >= b.dormant_days)).select(
        *base,
        reason_code=pl.lit("DORMANT_THEN_INVOICE"),
        weight=pl.lit(b.dormant),
        reason=pl.lit("no care for ")
        + c("days_since_previous_care").cast(pl.String)
        + pl.lit(" days, then a ")
        + c("care_category")
        + pl.lit(" invoice (")
        + _eur(c("claimed_amount"))
        + pl.lit(") sent via ")
        + c("source"),
    )
    flags = pl.concat(
        [takeover, household, mule, provider, duplicate, recovery, new_category, dormant],
        how="diagonal_relaxed",
    )
    return flags.with_columns(
        c("weight").cast(pl.Float64), c("claimed_amount").cast(pl.Float64), c("incident").cast(pl.String)
    ).sort("member_id", "claim_id", "reason_code")


def _log(x: float) -> float:
    import math

    return math.log(x)


def member_only_reasons(
    changes: pl.DataFrame, profile: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG
) -> pl.DataFrame:
    """Reasons that hold for a member without a claim line: takeover before any payment,
    breach exposure. One row per (member, reason code)."""
    t = config.takeover
    c = pl.col
    pending = changes.filter(
        (c("payments_30d") == 0) & (c("takeover_score") >= t.no_payment_min_score)
    ).select(
        "member_id",
        reason_code=pl.lit("TAKEOVER_NO_PAYMENT_YET"),
        weight=c("takeover_score") * t.no_payment_factor,
        reason=c("takeover_reason") + pl.lit(", no payment to it yet"),
    )
    exposed = profile.filter(c("breach_count") > 0).select(
        "member_id",
        reason_code=pl.lit("BREACH_EXPOSED"),
        weight=pl.lit(config.behaviour.breach_exposed),
        reason=pl.lit("identifiers (")
        + c("breach_matched_types").fill_null("")
        + pl.lit(") in ")
        + c("breach_count").cast(pl.String)
        + pl.lit(" breach list(s) since ")
        + c("first_breach_date").cast(pl.String),
    )
    return pl.concat([pending, exposed], how="vertical_relaxed").with_columns(c("weight").cast(pl.Float64))


def combine_member_reasons(
    claim_flags: pl.DataFrame, member_reasons: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG
) -> pl.DataFrame:
    """Aggregate reasons per member: rule score (damped noisy-OR of each code's strongest weight),
    suspicious lines, amount at risk and the reasons, strongest first; and, apart, the lines to
    recover (``recovery_*``), which never add to the fraud score."""
    c = pl.col
    share = config.combine.secondary_share
    recovery_flags = claim_flags.filter(c("reason_code").is_in(list(RECOVERY_CODES)))
    claim_flags = claim_flags.filter(~c("reason_code").is_in(list(RECOVERY_CODES)))
    # the strongest line's reason; among equal weights the first reason text (a stable key, so
    # a rerun on the same data writes the same sentence)
    strongest = [c("weight"), c("reason")]
    per_code_claims = (
        claim_flags.sort("member_id", "reason_code")
        .group_by("member_id", "reason_code", maintain_order=True)
        .agg(
            weight=c("weight").max(),
            reason=c("reason").sort_by(strongest, descending=[True, False]).first(),
            claim_ids=c("claim_id").unique().sort(),
            lines=c("claim_id").n_unique(),
        )
    )
    per_code_member = (
        member_reasons.sort("member_id", "reason_code")
        .group_by("member_id", "reason_code", maintain_order=True)
        .agg(
            weight=c("weight").max(),
            reason=c("reason").sort_by(strongest, descending=[True, False]).first(),
        )
        .with_columns(claim_ids=pl.lit([], dtype=pl.List(pl.String)), lines=pl.lit(0, dtype=pl.UInt32))
    )
    per_code = pl.concat([per_code_claims, per_code_member], how="vertical_relaxed")
    # context-only reasons (breach exposure) raise a score but never make lines suspicious
    suspicious_lines = (
        claim_flags.filter(c("weight") >= config.combine.suspicious_line_weight)
        .sort("member_id", "claim_id")
        .group_by("member_id", maintain_order=True)
        .agg(
            claim_ids=c("claim_id").unique().sort(),
            amount_at_risk=c("claimed_amount").filter(c("claim_id").is_first_distinct()).sum().round(2),
        )
    )
    # the strongest reason counts in full; further reasons add with a share of their weight, as
    # they often restate the same evidence (a mule account is also a takeover)
    members = (
        per_code.sort(["member_id", "weight", "reason_code"], descending=[False, True, False])
        .group_by("member_id", maintain_order=True)
        .agg(
            rule_score=1
            - (1 - c("weight").first().clip(0, 1)) * (1 - share * c("weight").slice(1).clip(0, 1)).product(),
            reason_codes=c("reason_code"),
            reasons=c("reason"),
            weights=c("weight"),
        )
    )
    recovery = (
        recovery_flags.sort("member_id", "claim_id")
        .group_by("member_id", maintain_order=True)
        .agg(
            recovery_score=c("weight").max(),
            recovery_claim_ids=c("claim_id").unique().sort(),
            recovery_amount=c("claimed_amount").filter(c("claim_id").is_first_distinct()).sum().round(2),
            recovery_reasons=c("reason").unique().sort(),
        )
    )
    return (
        members.join(suspicious_lines, on="member_id", how="left")
        .join(recovery, on="member_id", how="full", coalesce=True)
        .with_columns(
            rule_score=c("rule_score").fill_null(0.0),
            reason_codes=c("reason_codes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            reasons=c("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            weights=c("weights").fill_null(pl.lit([], dtype=pl.List(pl.Float64))),
            claim_ids=c("claim_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            amount_at_risk=c("amount_at_risk").fill_null(0.0),
            recovery_score=c("recovery_score").fill_null(0.0),
            recovery_amount=c("recovery_amount").fill_null(0.0),
            recovery_claim_ids=c("recovery_claim_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            recovery_reasons=c("recovery_reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .sort("member_id")
    )
