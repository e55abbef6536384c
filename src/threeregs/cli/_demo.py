"""``threeregs demo``: the whole system at work on an embedded SQLite database."""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from threeregs import _i18n
from threeregs._errors import GateBlockedError
from threeregs._gate import StageGate
from threeregs._inbox import Inbox
from threeregs._model import Filer, Filing, Intervener, MonthlyObligation, StageObligation
from threeregs._vocabulary import Bucket, IntervenerRole, StaffKind
from threeregs.cli import _workload as w
from threeregs.cli._app import Context, handle_errors, main, obj
from threeregs.crypto._keys import AnchorSigner
from threeregs.crypto._keystore import PassphraseKeyStore
from threeregs.routing._directory import Directory, Level
from threeregs.store._connection import use_immediate_transactions
from threeregs.store._offices import save_directory
from threeregs.store._rotation import issue_key
from threeregs.store._schema import create_tables

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Connection, Engine

    from threeregs.routing._directory import Office

N_ = _i18n.N_

#: Passphrase of the demo key store; printed so the user can try `inbox`.
DEMO_PASSPHRASE = "threeregs-demo"  # noqa: S105 - printed on purpose; demo data only


@main.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("threeregs-demo"),
    show_default=True,
    help="Folder for the demo database, key store and chart; its demo files are replaced.",
)
@click.option(
    "--scale",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Workload size: 300 cases per unit of scale.",
)
@click.option("--seed", type=int, default=2019, show_default=True, help="Random seed.")
@handle_errors
def demo(workdir: Path, scale: int, seed: int) -> None:
    """Run the whole system on an SQLite file: gates, filings, inboxes."""
    ctx = obj()
    _ = ctx._
    started = time.perf_counter()
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "demo.sqlite3"
    for stale in (database, workdir / "demo.sqlite3-journal", workdir / "keys.trks"):
        stale.unlink(missing_ok=True)
    engine = use_immediate_transactions(sa.create_engine(f"sqlite:///{database}"))
    create_tables(engine)

    ctx.out.rule(_("1. Offices and keys"))
    directory = Directory.national()
    signer = AnchorSigner.generate()
    keystore = PassphraseKeyStore(workdir / "keys.trks", DEMO_PASSPHRASE, cost=14)
    keystore.anchor_signer = signer
    with engine.begin() as conn, _progress(ctx) as progress:
        save_directory(conn, directory)
        task = progress.add_task(_("issuing office keys"), total=len(directory))
        for office in directory:
            issue_key(conn, signer, keystore, office.code, level=int(office.level))
            progress.advance(task)
    keystore.save()
    (workdir / "anchor.txt").write_text(signer.anchor.public_bytes().hex() + "\n", "ascii")
    counts = {level: len(directory.by_level(level)) for level in Level}
    ctx.out.print(
        _(
            "{total} offices: {supreme} supreme, {provincial} provincial, {municipal} municipal, "
            "{basic} basic"
        ).format(
            total=len(directory),
            supreme=counts[Level.SUPREME],
            provincial=counts[Level.PROVINCIAL],
            municipal=counts[Level.MUNICIPAL],
            basic=counts[Level.BASIC],
        )
    )
    ctx.out.print(_("trust anchor {fingerprint}").format(fingerprint=signer.anchor.fingerprint))

    gate = StageGate(anchor=signer.anchor, directory=directory)
    lines = {name: gate.policy.line(name) for name in w.BUSINESS_LINES}
    cases = w.make_cases(directory, lines, 300 * scale, rng)

    ctx.out.rule(_("2. A stage gate, blocked and then allowed"))
    _show_gate(ctx, engine, gate, cases[0], rng)

    ctx.out.rule(_("3. Cases through their stages"))
    totals = _run_cases(ctx, engine, gate, directory, cases[1:], rng)
    table = Table(show_header=True)
    table.add_column(_("what"))
    table.add_column(_("count"), justify="right")
    for key, value in totals.items():
        table.add_row(_(key), str(value))
    ctx.out.print(table)

    ctx.out.rule(_("4. Direct reports and anytime records"))
    _show_direct_reports(ctx, engine, gate, directory, rng)

    ctx.out.rule(_("5. Inboxes along one chain of offices"))
    _show_inboxes(ctx, engine, keystore, directory, cases)

    ctx.out.rule(_("Done"))
    ctx.out.print(
        _("finished in {seconds:.1f} s; database {database}").format(
            seconds=time.perf_counter() - started, database=database
        )
    )
    ctx.out.print(
        _("Try the inspection side yourself (passphrase {passphrase}):").format(
            passphrase=DEMO_PASSPHRASE
        )
    )
    ctx.out.print(
        f"  threeregs inbox list --db sqlite:///{database} --keystore {workdir / 'keys.trks'} "
        f"--reader me {cases[0].office.code}"
    )


def _progress(ctx: Context) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=ctx.err,
        disable=ctx.quiet,
        transient=True,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _show_gate(
    ctx: Context, engine: Engine, gate: StageGate, case: w.DemoCase, rng: random.Random
) -> None:
    _ = ctx._
    rules = gate.policy.line(case.business_line)
    target = case.path[0]
    with engine.begin() as conn:
        gate.open_case(
            conn, case.case_id, business_line=case.business_line, office_code=case.office.code
        )
        for handler in case.handlers:
            gate.assign(conn, case.case_id, handler.person_id, role=handler.role)
    ctx.out.print(
        _("case {case} ({office}) wants to move from {stage} to {target}").format(
            case=case.case_id,
            office=case.office.name,
            stage=_i18n.stage_label(rules.initial, ctx.locale),
            target=_i18n.stage_label(target, ctx.locale),
        )
    )
    with engine.begin() as conn:
        try:
            gate.advance(conn, case.case_id, target)
        except GateBlockedError as exc:
            ctx.out.print("[red]" + _("blocked:") + "[/]")
            for blocker in exc.decision.blockers:
                ctx.out.print(f"  • [{blocker.code.value}] {blocker.message(ctx.locale)}")
    with engine.begin() as conn:
        for handler in case.handlers:
            filer = Filer(handler.person_id, case.office.code, handler.staff_kind)
            receipt = gate.file(
                conn, Filing.zero(filer, StageObligation(case.case_id, rules.initial))
            )
            ctx.out.print(
                _("{person} filed a zero report; receipt {digest}").format(
                    person=handler.person_id, digest=receipt.digest[:16]
                )
            )
    with engine.begin() as conn:
        decision = gate.advance(conn, case.case_id, target)
    ctx.out.print("[green]" + _("allowed:") + "[/] " + "; ".join(decision.messages(ctx.locale)))


def _run_cases(
    ctx: Context,
    engine: Engine,
    gate: StageGate,
    directory: Directory,
    cases: list[w.DemoCase],
    rng: random.Random,
) -> dict[str, int]:
    totals = {
        N_("cases closed"): 0,
        N_("stage filings"): 0,
        N_("of which zero reports"): 0,
        N_("of which direct reports"): 0,
        N_("gate checks blocked before filing"): 0,
        N_("monthly returns"): 0,
    }
    chains = {}
    with _progress(ctx) as progress:
        task = progress.add_task(ctx._("handling cases"), total=len(cases))
        for case in cases:
            if case.office.code not in chains:
                chains[case.office.code] = [o.level for o in directory.chain(case.office.code)]
            with engine.begin() as conn:
                _handle_case(conn, gate, case, chains[case.office.code], rng, totals)
            progress.advance(task)
    month = (_now().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    with engine.begin() as conn:
        seen: set[str] = set()
        for case in cases:
            for handler in case.handlers:
                if handler.person_id in seen:
                    continue
                seen.add(handler.person_id)
                filer = Filer(handler.person_id, case.office.code, handler.staff_kind)
                gate.file(conn, Filing.zero(filer, MonthlyObligation(month)))
                totals[N_("monthly returns")] += 1
    return totals


def _handle_case(
    conn: Connection,
    gate: StageGate,
    case: w.DemoCase,
    chain_levels: list[Level],
    rng: random.Random,
    totals: dict[str, int],
) -> None:
    rules = gate.policy.line(case.business_line)
    gate.open_case(
        conn, case.case_id, business_line=case.business_line, office_code=case.office.code
    )
    for handler in case.handlers:
        gate.assign(conn, case.case_id, handler.person_id, role=handler.role)
    for target in case.path:
        state = gate.case(conn, case.case_id)
        # Hosts call check before offering the move; some find it blocked.
        checked = rules.roles_that_file(state.stage) and rng.random() < 0.2
        if checked and not gate.check(conn, case.case_id, target).allowed:
            totals[N_("gate checks blocked before filing")] += 1
        if rules.roles_that_file(state.stage):
            for handler in case.handlers:
                filing = w.stage_filing(
                    rng,
                    case,
                    handler,
                    state.stage,
                    state.round,
                    now=_now(),
                    chain_levels=chain_levels,
                )
                gate.file(conn, filing)
                totals[N_("stage filings")] += 1
                totals[N_("of which zero reports")] += filing.is_zero
                totals[N_("of which direct reports")] += filing.direct_to is not None
        gate.advance(conn, case.case_id, target)
    totals[N_("cases closed")] += 1


def _show_direct_reports(
    ctx: Context, engine: Engine, gate: StageGate, directory: Directory, rng: random.Random
) -> None:
    _ = ctx._
    basic = directory.by_level(Level.BASIC)
    with engine.begin() as conn:
        for destination in (Level.MUNICIPAL, Level.PROVINCIAL, Level.SUPREME):
            office = _office_with_level_above(directory, basic, destination, rng)
            filer = Filer(f"{office.code}-p01", office.code, StaffKind.PROSECUTOR)
            record = w.make_record(
                rng, _now() - dt.timedelta(hours=3), bucket=Bucket.IMPROPER_INTERFERENCE
            )
            receipt = gate.file(conn, Filing(filer, None, records=(record,), direct_to=destination))
            ctx.out.print(
                _(
                    "{office}: anytime record sent directly to the {level} level; receipt {digest}"
                ).format(
                    office=office.name,
                    level=_i18n.label(destination, ctx.locale),
                    digest=receipt.digest[:16],
                )
            )
        office = rng.choice(basic)
        filer = Filer(f"{office.code}-p02", office.code, StaffKind.PROSECUTOR)
        leader = w.make_record(
            rng, _now() - dt.timedelta(hours=5), bucket=Bucket.IMPROPER_INTERFERENCE
        )
        leader_record = type(leader)(
            provision=leader.provision,
            conduct=leader.conduct,
            bucket=leader.bucket,
            intervener=Intervener(
                name=w.person_name(rng),
                unit=office.name,
                position="副检察长",
                role=IntervenerRole.INTERNAL_PERSONNEL,
                procuratorate_staff=True,
                own_office_leader=True,
            ),
            occurred_at=leader.occurred_at,
            manner=leader.manner,
            content=leader.content,
        )
        receipt = gate.file(conn, Filing(filer, None, records=(leader_record,)))
        for notice in receipt.notices:
            ctx.out.print(
                _(
                    "{office}: a leader of the own office intervened; the policy advises a direct "
                    "report ({notice})"
                ).format(office=office.name, notice=notice)
            )


def _office_with_level_above(
    directory: Directory, basic: tuple[Office, ...], level: Level, rng: random.Random
) -> Office:
    while True:
        office = rng.choice(basic)
        if any(o.level == level for o in directory.chain(office.code)):
            return office


def _show_inboxes(
    ctx: Context,
    engine: Engine,
    keystore: PassphraseKeyStore,
    directory: Directory,
    cases: list[w.DemoCase],
) -> None:
    _ = ctx._
    busiest = max(
        (c.office for c in cases if c.office.level == Level.BASIC),
        key=lambda office: sum(1 for c in cases if c.office.code == office.code),
    )
    table = Table(show_header=True)
    for heading in (_("office"), _("level"), _("envelopes"), _("opened"), _("decoys"), _("failed")):
        table.add_column(heading, justify="right" if heading != _("office") else "left")
    with engine.begin() as conn:
        for office in directory.chain(busiest.code):
            inbox = Inbox(office.code, keystore, reader=f"inspector-{office.code}")
            _drain(inbox.open_all(conn))
            summary = inbox.summary
            table.add_row(
                office.name,
                _i18n.label(office.level, ctx.locale),
                str(summary.total),
                str(summary.opened),
                str(summary.decoys),
                str(summary.failed + summary.missing_key),
            )
    ctx.out.print(table)
    ctx.out.print(
        _(
            "Every envelope has one slot per office in the filer's chain, so each office "
            "skips the decoys of filings routed elsewhere."
        )
    )


def _drain(items: Iterator[Any]) -> None:
    for _item in items:
        pass
