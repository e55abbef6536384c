"""``threeregs demo``: the whole system at work on an embedded SQLite database.

The workload runs on a simulated clock over the last two years, so stage
windows, deadlines and the quarterly statistics look like a real office's;
every filing still goes through the real gate, envelope and inbox code.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import click
import sqlalchemy as sa
from rich.markup import escape
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
from threeregs.store import _tables as t
from threeregs.store._connection import use_immediate_transactions
from threeregs.store._offices import save_directory
from threeregs.store._rotation import issue_key
from threeregs.store._schema import create_tables

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from threeregs._model import Record
    from threeregs.routing._directory import Office

N_ = _i18n.N_

#: Passphrase of the demo key store; printed so the user can try `inbox`.
DEMO_PASSPHRASE = "threeregs-demo"  # noqa: S105 - printed on purpose; demo data only
#: How far back the simulated workload starts.
HISTORY = dt.timedelta(days=2 * 365)
#: Cases whose handlers hide an intervention behind a zero report.
UNDER_REPORTED = 6


@attrs.frozen
class Reported:
    """A record the demo filed, kept to build a clue that must not be flagged."""

    case_id: str
    person_id: str
    office_code: str
    record: Record


@attrs.frozen
class Hidden:
    """An intervention a handler left out of a zero report."""

    case_id: str
    person_id: str
    office_code: str
    stage: str
    round: int


@attrs.define
class Tally:
    """Counts and samples the workload gathers. This class is mutable."""

    counts: dict[str, int] = attrs.field(factory=dict)
    reported: list[Reported] = attrs.field(factory=list)
    hidden: list[Hidden] = attrs.field(factory=list)

    def add(self, key: str, amount: int = 1) -> None:
        """Add *amount* to the count *key*."""
        self.counts[key] = self.counts.get(key, 0) + amount


@main.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("threeregs-demo"),
    show_default=True,
    help="Folder for the demo databases, key store and chart; its demo files are replaced.",
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
    """Run the whole system on SQLite files: gates, filings, inboxes, matching, statistics."""
    ctx = obj()
    _ = ctx._
    started = time.perf_counter()
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "demo.sqlite3"
    for name in ("demo.sqlite3", "inspection.sqlite3", "keys.trks", "trend.png"):
        (workdir / name).unlink(missing_ok=True)
    engine = use_immediate_transactions(sa.create_engine(f"sqlite:///{database}"))
    create_tables(engine)
    real_now = dt.datetime.now(dt.UTC)
    clock = w.SimulatedClock(real_now - HISTORY - dt.timedelta(days=1))

    ctx.out.rule(_("1. Offices and keys"))
    directory = Directory.national()
    signer = AnchorSigner.generate()
    keystore = PassphraseKeyStore(workdir / "keys.trks", DEMO_PASSPHRASE, cost=14)
    keystore.anchor_signer = signer
    with engine.begin() as conn, _progress(ctx) as progress:
        save_directory(conn, directory)
        task = progress.add_task(_("issuing office keys"), total=len(directory))
        for office in directory:
            issue_key(conn, signer, keystore, office.code, level=int(office.level), at=clock.now)
            progress.advance(task)
    keystore.save()
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

    gate = StageGate(anchor=signer.anchor, directory=directory, clock=clock)
    lines = {name: gate.policy.line(name) for name in w.BUSINESS_LINES}
    cases = w.make_cases(
        directory,
        lines,
        300 * scale,
        rng,
        first=real_now - HISTORY,
        last=real_now - dt.timedelta(days=120),
    )

    ctx.out.rule(_("2. A stage gate, blocked and then allowed"))
    _show_gate(ctx, engine, gate, clock, cases[0])

    ctx.out.rule(_("3. Cases through their stages"))
    tally = Tally()
    hide = set(rng.sample(range(1, len(cases)), k=min(UNDER_REPORTED, len(cases) - 1)))
    _run_cases(ctx, engine, gate, clock, directory, cases, rng, tally, hide)
    table = Table(show_header=True)
    table.add_column(_("what"))
    table.add_column(_("count"), justify="right")
    for key, value in tally.counts.items():
        table.add_row(_(key), str(value))
    ctx.out.print(table)

    ctx.out.rule(_("4. Direct reports and anytime records"))
    clock.now = real_now - dt.timedelta(days=1)
    _show_direct_reports(ctx, engine, gate, directory, rng)

    ctx.out.rule(_("5. Inboxes along one chain of offices"))
    _show_inboxes(ctx, engine, keystore, directory, cases)

    ctx.out.rule(_("6. Clues and under-reporting"))
    _show_matching(ctx, engine, keystore, gate, directory, tally, rng)

    ctx.out.rule(_("7. Tamper-evident log"))
    _show_log(ctx, engine, cases[0].office.code)

    ctx.out.rule(_("8. Statistics"))
    _show_statistics(ctx, engine, keystore, directory, workdir)

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


def _show_gate(
    ctx: Context, engine: Engine, gate: StageGate, clock: w.SimulatedClock, case: w.DemoCase
) -> None:
    _ = ctx._
    rules = gate.policy.line(case.business_line)
    target = case.path[0]
    clock.now = case.start
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
    clock.now += dt.timedelta(days=3)
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
            obligation = StageObligation(case.case_id, rules.initial)
            receipt = gate.file(conn, Filing.zero(filer, obligation, filed_at=clock.now))
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
    clock: w.SimulatedClock,
    directory: Directory,
    cases: list[w.DemoCase],
    rng: random.Random,
    tally: Tally,
    hide: set[int],
) -> None:
    chains: dict[str, list[Level]] = {}
    with _progress(ctx) as progress:
        task = progress.add_task(ctx._("handling cases"), total=len(cases) - 1)
        for index, case in enumerate(cases[1:], start=1):
            code = case.office.code
            if code not in chains:
                chains[code] = [o.level for o in directory.chain(code)]
            with engine.begin() as conn:
                _handle_case(conn, gate, clock, case, chains[code], rng, tally, hide=index in hide)
            progress.advance(task)

    # Everyone on a case files the monthly return of the last full month.
    clock.now = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    month = (clock.now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    with engine.begin() as conn:
        seen: set[str] = set()
        for case in cases:
            for handler in case.handlers:
                if handler.person_id in seen:
                    continue
                seen.add(handler.person_id)
                filer = Filer(handler.person_id, case.office.code, handler.staff_kind)
                gate.file(conn, Filing.zero(filer, MonthlyObligation(month), filed_at=clock.now))
                tally.add(N_("monthly returns"))


def _handle_case(
    conn: Connection,
    gate: StageGate,
    clock: w.SimulatedClock,
    case: w.DemoCase,
    chain_levels: list[Level],
    rng: random.Random,
    tally: Tally,
    *,
    hide: bool,
) -> None:
    rules = gate.policy.line(case.business_line)
    clock.now = case.start
    gate.open_case(
        conn, case.case_id, business_line=case.business_line, office_code=case.office.code
    )
    for handler in case.handlers:
        gate.assign(conn, case.case_id, handler.person_id, role=handler.role)
    for target in case.path:
        state = gate.case(conn, case.case_id)
        # Stages take days to weeks; no filing may lie in the real future.
        latest = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        clock.now = min(clock.now + dt.timedelta(days=rng.randint(2, 20)), latest)
        filers = rules.roles_that_file(state.stage)
        # Hosts call check before offering the move; some find it blocked.
        if filers and rng.random() < 0.2 and not gate.check(conn, case.case_id, target).allowed:
            tally.add(N_("gate checks blocked before filing"))
        if filers:
            for position, handler in enumerate(case.handlers):
                filing = w.stage_filing(
                    rng,
                    case,
                    handler,
                    state.stage,
                    state.round,
                    now=clock.now,
                    chain_levels=chain_levels,
                )
                if hide and position == 0 and state.visit == 1:
                    # This handler was approached but files a zero report.
                    filing = Filing.zero(filing.filer, filing.obligation, filed_at=clock.now)
                    tally.hidden.append(
                        Hidden(case.case_id, handler.person_id, case.office.code, state.stage, 1)
                    )
                gate.file(conn, filing)
                tally.add(N_("stage filings"))
                tally.add(N_("of which zero reports"), int(filing.is_zero))
                tally.add(N_("of which direct reports"), int(filing.direct_to is not None))
                tally.add(N_("records"), len(filing.records))
                if filing.records and filing.direct_to is None:
                    tally.reported.append(
                        Reported(
                            case.case_id, handler.person_id, case.office.code, filing.records[0]
                        )
                    )
        gate.advance(conn, case.case_id, target)
    tally.add(N_("cases closed"))


def _show_direct_reports(
    ctx: Context, engine: Engine, gate: StageGate, directory: Directory, rng: random.Random
) -> None:
    _ = ctx._
    basic = directory.by_level(Level.BASIC)
    with engine.begin() as conn:
        for destination in (Level.MUNICIPAL, Level.PROVINCIAL, Level.SUPREME):
            office = _office_with_level_above(directory, basic, destination, rng)
            filer = Filer(f"{office.code}-p01", office.code, StaffKind.PROSECUTOR)
            when = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
            record = w.make_record(
                rng, when - dt.timedelta(hours=3), bucket=Bucket.IMPROPER_INTERFERENCE
            )
            receipt = gate.file(
                conn,
                Filing(filer, None, records=(record,), direct_to=destination, filed_at=when),
            )
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
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        sample = w.make_record(
            rng, when - dt.timedelta(hours=5), bucket=Bucket.IMPROPER_INTERFERENCE
        )
        leader_record = attrs.evolve(
            sample,
            intervener=Intervener(
                name=w.person_name(rng),
                unit=office.name,
                position="副检察长",
                role=IntervenerRole.INTERNAL_PERSONNEL,
                procuratorate_staff=True,
                own_office_leader=True,
            ),
        )
        receipt = gate.file(conn, Filing(filer, None, records=(leader_record,), filed_at=when))
        if receipt.notices:
            ctx.out.print(
                _(
                    "{office}: a leader of the filer's own office intervened, so the policy "
                    "advises a direct report to a higher office"
                ).format(office=office.name)
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
        table.add_column(heading, justify="left" if heading == _("office") else "right")
    with engine.begin() as conn:
        for office in directory.chain(busiest.code):
            inbox = Inbox(office.code, keystore, reader=f"inspector-{office.code}")
            for _item in inbox.open_all(conn):
                pass
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


def _show_matching(
    ctx: Context,
    engine: Engine,
    keystore: PassphraseKeyStore,
    gate: StageGate,
    directory: Directory,
    tally: Tally,
    rng: random.Random,
) -> None:
    """Build clues (hidden interventions and reported ones) and match them office by office."""
    from threeregs.matching import (  # noqa: PLC0415 - matching loads pypinyin and pluggy
        Clue,
        ClueSource,
        Finding,
        IntervenerDetails,
        MatchInput,
        MatchResult,
        RuleRegistry,
        StageWindow,
        facts_from_filing,
        render_table,
        stage_windows,
    )

    _ = ctx._
    windows_by_case: dict[str, list[StageWindow]] = {}
    with engine.connect() as conn:
        case_ids = {h.case_id for h in tally.hidden} | {r.case_id for r in tally.reported}
        for window in stage_windows(conn, sorted(case_ids)):
            windows_by_case.setdefault(window.case_id, []).append(window)

    clues: dict[str, list[Clue]] = {}
    for number, hidden in enumerate(tally.hidden, start=1):
        window = next(
            x for x in windows_by_case[hidden.case_id] if x.stage == hidden.stage and x.round == 1
        )
        end = window.end or window.start + dt.timedelta(days=1)
        moment = window.start + (end - window.start) / 2
        unit, position = rng.choice((("某区人民政府", "副区长"), ("某市公安局", "副局长")))
        clues.setdefault(hidden.office_code, []).append(
            Clue(
                clue_id=f"petition-{number:03d}",
                source=ClueSource.PETITION,
                occurred_from=moment,
                person_id=hidden.person_id,
                case_id=hidden.case_id,
                intervener=IntervenerDetails(w.person_name(rng), unit, position),
                description="信访人反映有领导干部为犯罪嫌疑人说情。",
            )
        )
    # Clues about interventions that were reported, with the name written in
    # traditional characters: matching must not flag them.
    for number, reported in enumerate(tally.reported[:6], start=1):
        person = reported.record.intervener
        clues.setdefault(reported.office_code, []).append(
            Clue(
                clue_id=f"referral-{number:03d}",
                source=ClueSource.DISCIPLINE_REFERRAL,
                occurred_from=reported.record.occurred_at,
                person_id=reported.person_id,
                case_id=reported.case_id,
                intervener=IntervenerDetails(
                    _traditional(person.name), person.unit, person.position
                ),
                description="纪检监察机关移送线索。",
            )
        )

    registry = RuleRegistry(entry_points=False)
    findings: list[Finding] = []
    rule_names = ["unreported_intervention"]
    with engine.begin() as conn:
        for office_code, office_clues in sorted(clues.items()):
            inbox = Inbox(office_code, keystore, reader=f"inspector-{office_code}")
            facts = [
                facts_from_filing(item.filing, policy=gate.policy)
                for item in inbox.open_all(conn)
                if item.filing is not None
            ]
            cases = {clue.case_id for clue in office_clues}
            windows = [x for case in cases for x in windows_by_case.get(case or "", [])]
            data = MatchInput(facts, office_clues, windows, directory=directory)
            result = registry.run(data, rules=rule_names)
            findings.extend(result.findings)
    total = sum(len(v) for v in clues.values())
    ctx.out.print(
        _(
            "{clues} clues: {hidden} petitions about interventions hidden behind zero reports, "
            "{reported} referrals about interventions that were reported"
        ).format(clues=total, hidden=len(tally.hidden), reported=total - len(tally.hidden))
    )
    flagged = {f.clue_id for f in findings}
    caught = sum(1 for c in flagged if c and c.startswith("petition-"))
    false = sum(1 for c in flagged if c and c.startswith("referral-"))
    labels = {rule.name: rule.label(ctx.locale) for rule in registry.rules()}
    render_table(
        MatchResult(tuple(findings), tuple(rule_names)),
        ctx.out,
        locale=ctx.locale,
        rule_labels=labels,
    )
    ctx.out.print(
        _("caught {caught} of {hidden} hidden interventions; {false} reported ones flagged").format(
            caught=caught, hidden=len(tally.hidden), false=false
        )
    )


def _show_log(ctx: Context, engine: Engine, office_code: str) -> None:
    """Sequence every filing into the log, sign a checkpoint, then catch a deleted row."""
    from threeregs.store import (  # noqa: PLC0415 - keeps the demo's imports in one place
        CheckpointSigner,
        create_checkpoint,
        sequence,
        verify,
    )

    _ = ctx._
    with engine.begin() as conn:
        appended = sequence(conn, grace=dt.timedelta(0))
    signer = CheckpointSigner.generate(office_code)
    with engine.begin() as conn:
        checkpoint = create_checkpoint(
            conn, signer, verify_keys=(signer.public_key,), grace=dt.timedelta(0)
        )
    ctx.out.print(
        _(
            "{count} filings appended to the log; checkpoint of size {size} signed by {office}"
        ).format(count=appended, size=checkpoint.tree_size, office=office_code)
    )
    with engine.begin() as conn:
        report = verify(
            conn, trusted=checkpoint, verify_keys=(signer.public_key,), grace=dt.timedelta(0)
        )
    ctx.out.print(
        ("[green]" if report.ok else "[red]")
        + _("verify: {size} entries, {problems} problems").format(
            size=report.tree_size, problems=len(report.problems)
        )
        + "[/]"
    )
    # A database administrator deletes one filing; verify names it. The
    # deletion is rolled back afterwards so the demo database stays whole.
    with engine.connect() as conn:
        transaction = conn.begin()
        victim = conn.execute(
            sa.select(t.envelopes.c.filing_id).order_by(t.envelopes.c.seq).limit(1).offset(7)
        ).scalar_one()
        conn.execute(sa.delete(t.envelopes).where(t.envelopes.c.filing_id == victim))
        tampered = verify(
            conn, trusted=checkpoint, verify_keys=(signer.public_key,), grace=dt.timedelta(0)
        )
        transaction.rollback()
    ctx.out.print(
        _("after deleting filing {filing} directly in the database, verify reports:").format(
            filing=victim
        )
    )
    for problem in tampered.problems[:3]:
        ctx.out.print(f"  • {problem.message(ctx.locale)}")


def _traditional(name: str) -> str:
    """Write a few common simplified characters of a name in traditional form."""
    table = str.maketrans(
        "张刘陈杨黄赵吴郑谢韩冯邓萧伟丽强军杰娟涛华国红斌凯",
        "張劉陳楊黃趙吳鄭謝韓馮鄧蕭偉麗強軍傑娟濤華國紅斌凱",
    )
    return name.translate(table)


def _show_statistics(
    ctx: Context,
    engine: Engine,
    keystore: PassphraseKeyStore,
    directory: Directory,
    workdir: Path,
) -> None:
    """Open every office's inbox into one inspection-side database and tabulate it."""
    from threeregs.stats import (  # noqa: PLC0415 - statistics load matplotlib lazily
        create_stats_tables,
        import_opened,
        tabulate,
    )
    from threeregs.stats._chart import quarterly_trend_chart  # noqa: PLC0415
    from threeregs.stats._output import to_rich  # noqa: PLC0415

    _ = ctx._
    stats_engine = sa.create_engine(f"sqlite:///{workdir / 'inspection.sqlite3'}")
    create_stats_tables(stats_engine)
    with engine.connect() as conn:
        offices = sorted(
            {
                row[0]
                for index in range(t.SLOTS)
                for row in conn.execute(sa.select(t.envelopes.c[f"slot{index}_office"]).distinct())
                if row[0] is not None
            }
        )
    with engine.begin() as conn, stats_engine.begin() as stat_conn, _progress(ctx) as progress:
        task = progress.add_task(_("opening inboxes for statistics"), total=len(offices))
        for code in offices:
            inbox = Inbox(code, keystore, reader=f"inspector-{code}")
            import_opened(stat_conn, inbox.open_all(conn), directory, recipient=code)
            progress.advance(task)
    ctx.out.print(
        _(
            "In this demo one program holds every office's key, so it can count across "
            "offices; in practice each inspection department counts its own inbox and "
            "sends signed summaries upwards."
        )
    )
    with stats_engine.connect() as stat_conn:
        by_level = tabulate(stat_conn, "level", period="year")
        by_bucket = tabulate(stat_conn, "bucket", period="year")
        trend = tabulate(stat_conn, "level", period="quarter")
    ctx.out.print(to_rich(by_level, ctx.locale, directory=directory))
    ctx.out.print(to_rich(by_bucket, ctx.locale, directory=directory))
    chart = quarterly_trend_chart(trend, workdir / "trend.png", locale=ctx.locale)
    ctx.out.print(
        _("chart of the quarterly trend by level: {path}").format(path=workdir / "trend.png")
    )
    if chart.fell_back:
        ctx.out.print(
            escape(
                _(
                    "no font with Chinese characters was found, so the chart is labelled in "
                    "English; install threeregs[cjk] for Chinese labels"
                )
            )
        )
