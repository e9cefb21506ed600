"""Explicit rules with reason codes: each fires with a weight in (0, 1) and a sentence.

Input: polars frames of the SQL features (``sql/features``). Output: one row per
(claim line, reason code) and per (member, reason code), each with a weight and a reason a
reviewer can read. Weights combine by noisy-OR: independent evidence adds up, one weak
signal alone stays weak. Higher = more suspicious. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    weight: float | None  # None: computed per line or member (see the function producing it)


# The reason codes a case can carry. Fixed weights are a reviewer's prior, not fitted on any
# labelled sample.
RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("ACCOUNT_TAKEOVER", "IBAN changed in a takeover pattern, then paid", None),
        Rule("TAKEOVER_NO_PAYMENT_YET", "IBAN changed in a takeover pattern, no payment yet", None),
        Rule("MULE_ACCOUNT", "paid to an account shared with unrelated contracts", None),
        Rule("SUSPICIOUS_PROVIDER", "billed by a provider with a fake-provider pattern", None),
        Rule("DUPLICATE_CLAIM", "the same care paid twice through two channels", None),
        Rule("NEW_CATEGORY_HIGH_AMOUNT", "first high-cost invoice of a kind, sent by the member", 0.2),
        Rule("DORMANT_THEN_INVOICE", "long silence, then a high-cost invoice sent by the member", 0.15),
        Rule("ANOMALOUS_PROFILE", "profile unlike the portfolio (PyOD ensemble)", 0.0),
        Rule("BREACH_EXPOSED", "identifiers found in a breach list", 0.05),
    )
}

HIGH_RISK = ("optical", "dental", "hearing", "alternative_medicine")
# weight kept by a payment-diversion reason on a line the member did not send
DIVERTED_LINE_FACTOR = 0.6
SECONDARY_REASON_SHARE = 0.5


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


# --------------------------------------------------------------------------- IBAN changes


def score_iban_changes(changes: pl.DataFrame) -> pl.DataFrame:
    """Score each IBAN change for account takeover; add ``takeover_score`` and a reason."""
    c = pl.col
    border_worker = c("previous_iban_foreign") & c("new_iban_foreign")
    security_recent = c("security_events_14d_before") > 0
    foreign_ip = (c("foreign_ip_events_14d") > 0) & ~border_worker
    contact = c("contact_changes_30d_before") > 0
    new_foreign = c("new_iban_foreign") & ~c("previous_iban_foreign")
    rare_bank = c("new_bank_online") | (c("new_bank_share") < 0.002)
    household_left_out = (c("household_size") > 1) & (c("household_members_on_new_iban") == 0)
    shared = (
        (c("new_iban_subscribers_linked") >= 2)
        & (c("new_iban_postcodes_linked") >= 2)
        & (c("new_iban_departments_linked") >= 2)
    )
    fast_upload = (c("uploaded_payments_30d") > 0) & (c("days_to_first_payment") <= 7)
    upload_30d = c("uploaded_payments_30d") > 0
    high_risk = c("high_risk_payments_30d") > 0
    scored = changes.with_columns(
        takeover_score=noisy_or(
            [
                pl.when(security_recent & (c("hours_since_security_event") <= 72))
                .then(0.35)
                .when(security_recent)
                .then(0.2),
                pl.when(foreign_ip).then(0.35),
                pl.when(contact).then(0.35),
                pl.when(new_foreign).then(0.3),
                pl.when(rare_bank).then(0.25),
                pl.when(household_left_out).then(0.15),
                pl.when(shared).then(0.5),
                pl.when(fast_upload).then(0.35).when(upload_30d).then(0.15),
                pl.when(high_risk & upload_30d).then(0.2),
                pl.when(c("changed_after_breach")).then(0.15),
            ]
        ),
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
                            new_foreign, pl.lit("new bank abroad (") + c("new_iban_country") + pl.lit(")")
                        ),
                        _piece(c("new_bank_online"), "online bank"),
                        _piece(
                            ~c("new_bank_online") & (c("new_bank_share") < 0.002),
                            "bank rare in the portfolio",
                        ),
                        _piece(household_left_out, "rest of the household kept the old account"),
                        _piece(
                            shared,
                            pl.lit("account also used by ")
                            + (c("new_iban_subscribers_linked") - 1).cast(pl.String)
                            + pl.lit(" other contract(s)"),
                        ),
                        _piece(c("changed_after_breach"), "member exposed in a breach before the change"),
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


def score_providers(providers: pl.DataFrame) -> pl.DataFrame:
    """Score providers for the fake-provider pattern; add ``provider_score`` and a reason."""
    c = pl.col
    enough = c("patients") >= 5
    over_exposed = enough & (c("exposure_z") >= 2.5) & (c("exposed_share") >= 0.5)
    sudden = enough & c("new_to_portfolio") & (c("first_visit_span_days") <= 120)
    far = (enough & (c("outside_department_share") >= 0.6)).fill_null(False)
    bad_key = c("registry_key_valid").eq(False).fill_null(False)
    components = over_exposed.cast(pl.Int8) + sudden.cast(pl.Int8) + far.cast(pl.Int8) + bad_key.cast(pl.Int8)
    score = noisy_or(
        [
            pl.when(over_exposed & (c("exposure_z") >= 5)).then(0.7).when(over_exposed).then(0.5),
            pl.when(sudden).then(0.3),
            pl.when(far).then(0.3),
            pl.when(bad_key).then(0.35),
        ]
    )
    return providers.with_columns(
        # exposure is what ties a provider to the breach: no exposure, no fake-provider flag
        provider_score=pl.when(over_exposed & (components >= 2)).then(score).otherwise(0.0),
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
                        _piece(bad_key, "invalid registry check key"),
                    ],
                    ", ",
                ),
                pl.lit(")"),
            ]
        ),
    )


# --------------------------------------------------------------------------- claim lines


def flag_claims(signals: pl.DataFrame, changes: pl.DataFrame, providers: pl.DataFrame) -> pl.DataFrame:
    """Return one row per (claim line, reason code) with weight and reason.

    ``changes`` and ``providers`` are the outputs of :func:`score_iban_changes` and
    :func:`score_providers`.
    """
    c = pl.col
    base = ["claim_id", "member_id", "claimed_amount"]
    # an invoice the member sent (upload, paper) can be forged; a line the Assurance Maladie
    # or a provider transmitted is real care whose payment was diverted: weaker evidence
    line_factor = pl.when(c("member_sent")).then(1.0).otherwise(DIVERTED_LINE_FACTOR)
    takeover = (
        signals.filter(c("iban_change_event_id").is_not_null())
        .join(
            changes.select("event_id", "takeover_score", "takeover_reason"),
            left_on="iban_change_event_id",
            right_on="event_id",
            how="inner",
        )
        .filter(c("takeover_score") >= 0.3)
        .select(
            *base,
            reason_code=pl.lit("ACCOUNT_TAKEOVER"),
            weight=c("takeover_score") * line_factor,
            reason=c("takeover_reason"),
        )
    )
    unrelated = (c("payee_iban_subscribers_linked") >= 2) & (c("payee_iban_postcodes_linked") >= 2)
    # a mule account is set on members across the country within weeks; a guardianship
    # association's account serves protected adults of one department for years
    ring = (c("payee_iban_departments_linked") >= 2) & (
        ((c("payee_iban_members_switched") >= 2) & (c("payee_iban_switch_span_days") <= 60)).fill_null(False)
        | (c("payee_iban_subscribers_linked") >= 3)
    )
    mule = signals.filter(unrelated).select(
        *base,
        incident=pl.lit("account:") + c("payee_iban_hash"),
        reason_code=pl.lit("MULE_ACCOUNT"),
        weight=pl.when(ring & (c("payee_iban_subscribers_linked") >= 3))
        .then(0.85)
        .when(ring)
        .then(0.7)
        .otherwise(0.35)
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
    duplicate = signals.filter(c("is_duplicate_payment")).select(
        *base,
        reason_code=pl.lit("DUPLICATE_CLAIM"),
        # an exact second payment is near-certain; more so for crowns, glasses, hearing aids
        weight=(
            pl.when(c("member_sent")).then(0.8).otherwise(0.5)
            + 0.15 * c("claimed_amount").cast(pl.Float64).clip(1, 500).log(500)
        ),
        reason=pl.lit("same care (act ")
        + c("act_code")
        + pl.lit(" on ")
        + c("care_date").cast(pl.String)
        + pl.lit(", ")
        + _eur(c("billed_amount"))
        + pl.lit(") already paid via ")
        + c("duplicate_of_source")
        + pl.lit(" (line ")
        + c("duplicate_of_claim_id")
        + pl.lit("), claimed again via ")
        + c("source"),
    )
    member_sent_high = c("member_sent") & c("high_risk_category") & c("after_breach")
    new_category = signals.filter(
        member_sent_high & c("first_use_of_category") & (c("amount_peer_z") >= 1.5)
    ).select(
        *base,
        reason_code=pl.lit("NEW_CATEGORY_HIGH_AMOUNT"),
        weight=pl.lit(RULES["NEW_CATEGORY_HIGH_AMOUNT"].weight),
        reason=pl.lit("first ")
        + c("care_category")
        + pl.lit(" invoice ever (")
        + _eur(c("claimed_amount"))
        + pl.lit(", high for the member's age and sex) sent via ")
        + c("source"),
    )
    dormant = signals.filter(member_sent_high & (c("days_since_previous_care") >= 180)).select(
        *base,
        reason_code=pl.lit("DORMANT_THEN_INVOICE"),
        weight=pl.lit(RULES["DORMANT_THEN_INVOICE"].weight),
        reason=pl.lit("no care for ")
        + c("days_since_previous_care").cast(pl.String)
        + pl.lit(" days, then a ")
        + c("care_category")
        + pl.lit(" invoice (")
        + _eur(c("claimed_amount"))
        + pl.lit(") sent via ")
        + c("source"),
    )
    flags = pl.concat([takeover, mule, provider, duplicate, new_category, dormant], how="diagonal_relaxed")
    return flags.with_columns(
        c("weight").cast(pl.Float64), c("claimed_amount").cast(pl.Float64), c("incident").cast(pl.String)
    )


def member_only_reasons(changes: pl.DataFrame, profile: pl.DataFrame) -> pl.DataFrame:
    """Reasons that hold for a member without a claim line: takeover before any payment,
    breach exposure. One row per (member, reason code)."""
    c = pl.col
    pending = changes.filter((c("payments_30d") == 0) & (c("takeover_score") >= 0.5)).select(
        "member_id",
        reason_code=pl.lit("TAKEOVER_NO_PAYMENT_YET"),
        weight=c("takeover_score") * 0.5,
        reason=c("takeover_reason") + pl.lit(", no payment to it yet"),
    )
    exposed = profile.filter(c("breach_count") > 0).select(
        "member_id",
        reason_code=pl.lit("BREACH_EXPOSED"),
        weight=pl.lit(RULES["BREACH_EXPOSED"].weight),
        reason=pl.lit("identifiers (")
        + c("breach_matched_types").fill_null("")
        + pl.lit(") in ")
        + c("breach_count").cast(pl.String)
        + pl.lit(" breach list(s) since ")
        + c("first_breach_date").cast(pl.String),
    )
    return pl.concat([pending, exposed], how="vertical_relaxed").with_columns(c("weight").cast(pl.Float64))


def combine_member_reasons(claim_flags: pl.DataFrame, member_reasons: pl.DataFrame) -> pl.DataFrame:
    """Aggregate reasons per member: rule score (damped noisy-OR of each code's strongest weight),
    suspicious lines, amount at risk and the reasons, strongest first."""
    c = pl.col
    # the strongest line's reason; among equal weights the first reason text (a stable key, so
    # a rerun on the same data writes the same sentence)
    strongest = [c("weight"), c("reason")]
    per_code_claims = claim_flags.group_by("member_id", "reason_code", maintain_order=True).agg(
        weight=c("weight").max(),
        reason=c("reason").sort_by(strongest, descending=[True, False]).first(),
        claim_ids=c("claim_id").unique().sort(),
        lines=c("claim_id").n_unique(),
    )
    per_code_member = (
        member_reasons.group_by("member_id", "reason_code", maintain_order=True)
        .agg(
            weight=c("weight").max(),
            reason=c("reason").sort_by(strongest, descending=[True, False]).first(),
        )
        .with_columns(claim_ids=pl.lit([], dtype=pl.List(pl.String)), lines=pl.lit(0, dtype=pl.UInt32))
    )
    per_code = pl.concat([per_code_claims, per_code_member], how="vertical_relaxed")
    # context-only reasons (breach exposure) raise a score but never make lines suspicious
    suspicious_lines = (
        claim_flags.filter(c("weight") >= 0.3)
        .sort("member_id", "claim_id")
        .group_by("member_id", maintain_order=True)
        .agg(
            claim_ids=c("claim_id").unique().sort(),
            amount_at_risk=c("claimed_amount").filter(c("claim_id").is_first_distinct()).sum().round(2),
        )
    )
    # the strongest reason counts in full; further reasons add with half their weight, as
    # they often restate the same evidence (a mule account is also a takeover)
    members = (
        per_code.sort(["member_id", "weight", "reason_code"], descending=[False, True, False])
        .group_by("member_id", maintain_order=True)
        .agg(
            rule_score=1
            - (1 - c("weight").first().clip(0, 1))
            * (1 - SECONDARY_REASON_SHARE * c("weight").slice(1).clip(0, 1)).product(),
            reason_codes=c("reason_code"),
            reasons=c("reason"),
            weights=c("weight"),
        )
    )
    return members.join(suspicious_lines, on="member_id", how="left").with_columns(
        claim_ids=c("claim_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        amount_at_risk=c("amount_at_risk").fill_null(0.0),
    )
