"""Evaluation against labels (flows/scoring/evaluate.py) on a tiny inline portfolio."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

from claimwatch.scoring.evaluate import evaluate


def portfolio(tmp_path):
    con = duckdb.connect(str(tmp_path / "e.duckdb"))
    con.execute(
        """
        create table claims as select * from (values
            -- a mule ring: account ACC-A collects for m1, m2 and m3; m3's lines later also
            -- reached an account of its own (ACC-M3), most of them
            ('c1', 'm1', 'P1', 'ACC-A', 100.0),
            ('c2', 'm2', 'P1', 'ACC-A', 100.0),
            ('c3', 'm3', 'P1', 'ACC-A', 100.0),
            ('c4', 'm3', 'P1', 'ACC-M3', 100.0),
            ('c5', 'm3', 'P1', 'ACC-M3', 100.0),
            -- a takeover victim, and a legitimate member
            ('c6', 't1', 'P2', 'ACC-T', 300.0),
            ('c7', 'l1', 'P2', 'ACC-L', 30.0)
        ) as t(claim_id, member_id, provider_id, payee_iban_hash, claimed_amount)
        """
    )
    con.execute(
        """
        create table labels as select * from (values
            ('c1', true, 'mule_ring'), ('c2', true, 'mule_ring'), ('c3', true, 'mule_ring'),
            ('c4', true, 'mule_ring'), ('c5', true, 'mule_ring'), ('c6', true, 'ato_iban'),
            ('c7', false, null)
        ) as t(claim_id, is_fraud, scenario)
        """
    )
    # the queue shows m3 first, then the legitimate member, then the rest of the ring
    con.execute(
        """
        create table cases as select * from (values
            ('K3', 'm3', 1), ('KL', 'l1', 2), ('K1', 'm1', 3), ('K2', 'm2', 4), ('KT', 't1', 5)
        ) as t(case_id, member_id, rank)
        """
    )
    con.execute("create table score_runs as select 'r1' as run_id")
    con.execute(
        "create table member_scores as select 'r1' as run_id, member_id, 100.0 - rank as score from cases"
    )
    return SimpleNamespace(con=con)


def test_a_ring_member_whose_lines_also_reached_its_own_account_stays_in_its_ring(tmp_path):
    report = evaluate(portfolio(tmp_path), None, [1, 5])
    ring = report["per_scenario"]["mule_ring"]
    # m3 sent most of its fraudulent lines to ACC-M3, but ACC-A is the account the ring shares
    # (three defrauded members): one ring, one incident, found as soon as m3 is on screen
    assert ring["incidents"] == 1 and ring["members"] == 3
    assert ring["recall@1"] == 1.0
    # the takeover is an incident of its own, found at rank 5: 2 incidents in all, 1 in the top 1
    assert report["at_k"][1]["incident_recall"] == pytest.approx(0.5)
    assert report["at_k"][5]["incident_recall"] == 1.0
