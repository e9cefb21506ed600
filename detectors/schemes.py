"""Schemes: members linked by one mule account, one fake provider or one household takeover,
investigated as one.

A scheme has a stable id (``ACC-`` + the start of the account's pseudonym, ``PRV-`` + the
provider number), a score (its strongest member's, raised a little per doubling of its
members), an amount at risk (its members' sum) and its members. Each member belongs to at most
one scheme: the one of its strongest link (then the first id). Pure: frames in, frames out.
"""

from __future__ import annotations

import polars as pl

from claimwatch.detectors.config import DEFAULT_CONFIG, DetectionConfig
from claimwatch.detectors.rules import SCHEME_CODES

KINDS = {"MULE_ACCOUNT": "mule_account", "SUSPICIOUS_PROVIDER": "fake_provider"}


def scheme_links(claim_flags: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG) -> pl.DataFrame:
    """One row per (member, incident) linked strongly enough: member_id, incident, weight, kind."""
    c = pl.col
    links = (
        claim_flags.filter(
            c("incident").is_not_null()
            & c("reason_code").is_in(list(SCHEME_CODES))
            & (c("weight") >= config.schemes.min_link_weight)
        )
        .with_columns(
            kind=pl.when(c("reason_code") == "SUSPICIOUS_PROVIDER")
            .then(pl.lit("fake_provider"))
            .when(c("reason_code") == "MULE_ACCOUNT")
            .then(pl.lit("mule_account"))
            .otherwise(pl.lit("household_takeover"))
        )
        .sort("member_id", "incident", "kind")
        .group_by("member_id", "incident", maintain_order=True)
        .agg(weight=c("weight").max(), kind=c("kind").first())
    )
    return links


def build_schemes(
    members: pl.DataFrame, claim_flags: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (schemes, member_schemes).

    ``members`` holds member_id, score (0..100) and amount_at_risk. ``schemes``: scheme_id,
    kind, members, member_ids, score, amount_at_risk, reason. ``member_schemes``: member_id,
    scheme_id, scheme_members (the other members, sorted)."""
    c = pl.col
    s = config.schemes
    links = scheme_links(claim_flags, config)
    sizes = links.group_by("incident", maintain_order=True).agg(n=c("member_id").n_unique())
    # a household takeover links the victim and relatives paid to one account: the account's
    # own members count; an account or provider of one member is no scheme
    links = links.join(sizes.filter(c("n") >= s.min_members), on="incident", how="semi")
    chosen = (
        links.sort(["member_id", "weight", "incident"], descending=[False, True, False])
        .group_by("member_id", maintain_order=True)
        .agg(incident=c("incident").first(), kind=c("kind").first())
        .with_columns(
            scheme_id=pl.when(c("incident").str.starts_with("provider:"))
            .then(pl.lit("PRV-") + c("incident").str.strip_prefix("provider:"))
            .otherwise(
                pl.lit("ACC-")
                + c("incident").str.strip_prefix("account:").str.slice(0, 12).str.to_uppercase()
            )
        )
    )
    scored = chosen.join(members.select("member_id", "score", "amount_at_risk"), on="member_id", how="left")
    schemes = (
        scored.filter(c("scheme_id").is_not_null())
        .sort("scheme_id", "member_id")
        .group_by("scheme_id", maintain_order=True)
        .agg(
            kind=c("kind").sort().first(),
            members=c("member_id").n_unique(),
            member_list=c("member_id").sort(),
            top_score=c("score").fill_null(0).max(),
            amount_at_risk=c("amount_at_risk").fill_null(0).sum().round(2),
        )
        # a scheme grows from a coincidence to a pattern: more members, a little more score
        .filter(c("members") >= s.min_members)
        .with_columns(
            score=(c("top_score") + 100 * s.size_bonus * c("members").cast(pl.Float64).log(2))
            .clip(0, 100)
            .round(4),
            member_ids=c("member_list").list.join(";"),
            reason=pl.concat_str(
                [
                    c("members").cast(pl.String),
                    pl.lit(" members linked by one "),
                    c("kind").replace_strict(
                        {
                            "mule_account": "account (mule ring)",
                            "fake_provider": "provider (fake provider)",
                            "household_takeover": "account set by a takeover (household)",
                        },
                        default="link",
                    ),
                    pl.lit(", "),
                    c("amount_at_risk").round(0).cast(pl.Int64).cast(pl.String),
                    pl.lit(" € at risk"),
                ]
            ),
        )
        .select(
            "scheme_id", "kind", "members", "member_ids", "member_list", "score", "amount_at_risk", "reason"
        )
    )
    member_schemes = (
        chosen.join(schemes.select("scheme_id", "member_list"), on="scheme_id", how="inner")
        .select(
            "member_id",
            "scheme_id",
            scheme_members=c("member_list").list.set_difference(pl.concat_list(c("member_id"))).list.sort(),
        )
        .sort("member_id")
    )
    return schemes.drop("member_list"), member_schemes


def queue_order(cases: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG) -> pl.DataFrame:
    """Order cases so that the top shows distinct incidents, schemes ranked as investigations,
    without pushing any member of a scheme below a weak case of its own.

    ``cases``: case_id, score, amount_at_risk, scheme_id (null for a case of its own),
    subscriber_id (the member's contract) and, optionally, scheme_confirmed (a reviewer closed a
    member of the scheme as fraud). Returns the frame with ``rank`` (1 = first).

    A scheme that spans several contracts (a mule ring, a fake provider's clientele) is one
    investigation: its ``lead_members`` strongest members rank on their score; each further
    member (the scheme is on screen already, one decision closes it) ranks
    ``follower_step_back`` points lower per member before it beyond the leads, but never below
    an unrelated case weaker than ``strong_case_score`` or than itself. The members of a scheme
    within one contract (a household takeover: the victim and the relatives claimed in their
    name) rank as cases of their own: each is a person whose identity was used, and one
    contract cannot crowd the queue. Neither do the open members of a scheme a reviewer has
    confirmed (a member closed as fraud): the investigation is no longer a hypothesis, each of
    them is a victim or a payment to stop, in the order of their scores. A ring member goes
    right before the first unrelated case weaker than its ranking score (ties: the member
    first); members of rings in one such gap follow each other round by round (every ring's
    strongest there, then every ring's second...). sql/queue/rank_open_cases.sql writes the
    same order; this is its reference implementation (a test holds them together)."""
    s = config.schemes
    c = pl.col
    contracts = (
        c("subscriber_id").drop_nulls().n_unique().over("scheme_id")
        if "subscriber_id" in cases.columns
        else pl.lit(2)
    )
    confirmed = (
        c("scheme_confirmed").fill_null(False) if "scheme_confirmed" in cases.columns else pl.lit(False)
    )
    cases = cases.with_columns(
        ring_id=pl.when(c("scheme_id").is_not_null() & (contracts > 1) & ~confirmed).then(c("scheme_id"))
    )
    in_scheme = c("ring_id").is_not_null()
    ranked = cases.with_columns(
        place_in_scheme=pl.when(in_scheme).then(
            pl.struct(c("score").neg(), c("case_id")).rank("ordinal").over("ring_id").cast(pl.Int64)
        )
    )
    follower = in_scheme & (c("place_in_scheme") > s.lead_members)
    # distinct strong incidents: rings' leads and cases of their own scoring strong_case_score
    # (a confirmed scheme's open members are the follow-up of a decided investigation, not
    # incidents still to find)
    distinct_strong = (~follower & ~confirmed & (c("score") >= s.strong_case_score)).sum().cast(pl.Int64)
    ranked = ranked.with_columns(
        follower_place=pl.when(follower).then(
            pl.struct(c("score").neg(), c("case_id")).rank("ordinal").over(follower).cast(pl.Int64)
        )
    ).with_columns(
        # the strongest further members keep their scores while every distinct strong incident
        # still fits in the queue_capacity cases reviewers work through
        ranking_score=pl.when(follower & (c("follower_place") > s.queue_capacity - distinct_strong))
        .then(
            pl.max_horizontal(
                c("score") - s.follower_step_back * (c("place_in_scheme") - s.lead_members),
                pl.min_horizontal(c("score"), s.strong_case_score),
            )
        )
        .otherwise(c("score"))
    )
    unrelated = cases.filter(c("ring_id").is_null()).select(band=c("score")).unique().sort("band")
    keyed = (
        ranked.sort("ranking_score")
        .join_asof(unrelated, left_on="ranking_score", right_on="band", strategy="backward")
        .with_columns(
            band=pl.when(in_scheme).then(c("band").fill_null(-1.0)).otherwise(c("score")),
            after_schemes=c("ring_id").is_null().cast(pl.Int8),
        )
        .with_columns(
            # the member's round among its scheme's members in the same gap
            place=pl.when(in_scheme)
            .then(
                pl.struct(c("score").neg(), c("case_id"))
                .rank("ordinal")
                .over("ring_id", "band")
                .cast(pl.Int64)
            )
            .otherwise(1),
        )
        .sort(
            ["band", "after_schemes", "place", "score", "amount_at_risk", "case_id"],
            descending=[True, False, False, True, True, False],
        )
        .with_row_index("rank", offset=1)
    )
    return keyed.drop(
        "band", "after_schemes", "place", "place_in_scheme", "follower_place", "ranking_score", "ring_id"
    )
