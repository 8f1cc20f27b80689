"""The results as a table of figure / measured / target / verdict, for people."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Row = tuple[str, str, str, str]
KEY_TARGET_MS = 100.0
LAG_TARGET_MS = 500.0


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


def _below(value: float | None, limit: float) -> bool | None:
    return None if value is None else value < limit


def _within(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _follow_rows(name: str, follow: dict[str, Any], *, keys_probed: bool = True) -> Iterator[Row]:
    cpu = follow["cpu"]["cpu_percent"]
    rss = follow["rss_mb"]
    lag = follow["lag"]
    rate = f"{follow['requested_lines_per_s'] // 1000}k/s"
    yield (f"{name} {rate}: CPU", f"{cpu:.1f}% of a core", "< 50%", _verdict(cpu < 50))
    yield (
        f"{name} {rate}: RSS start/peak/end",
        f"{rss['start_mb']:.0f} / {rss['peak_mb']:.0f} / {rss['end_mb']:.0f} MB "
        f"({rss['second_half_growth_mb_per_s']:+.1f} MB/s late)",
        "flat",
        _verdict(rss["peak_mb"] - rss["start_mb"] < 50 and rss["second_half_growth_mb_per_s"] < 1),
    )
    yield (
        f"{name} {rate}: lag p50/p99/max",
        f"{_ms(lag['p50_ms'])} / {_ms(lag['p99_ms'])} / {_ms(lag['max_ms'])}"
        + (
            f" (newest line advanced {advance:,}/s)"
            if (advance := lag.get("newest_line_advance_per_s"))
            else ""
        ),
        "max ≤ 500 ms",
        _verdict(_within(lag["max_ms"], LAG_TARGET_MS)),
    )
    if end := follow.get("at_the_end"):
        drawn, data = end["newest_sequence_on_screen"], end["newest_sequence_in_widget"]
        behind = None if drawn is None or data is None else data - drawn
        yield (
            f"{name} {rate}: drawn vs in widget, at the end",
            f"line #{drawn} drawn, #{data} in the widget"
            + ("" if behind is None else f" ({behind:,} lines not drawn)"),
            "same line",
            _verdict(None if behind is None else behind <= follow["requested_lines_per_s"] // 2),
        )
    if not keys_probed:
        return
    keys = follow["keys"]["answered"]
    yield (
        f"{name} {rate}: key p50/p99/max",
        f"{_ms(keys['p50_ms'])} / {_ms(keys['p99_ms'])} / {_ms(keys['max_ms'])}",
        "p99 ≤ 100 ms",
        _verdict(_within(keys["p99_ms"], KEY_TARGET_MS)),
    )


def best_rate(steps: list[dict[str, Any]]) -> int | None:
    """The highest ingested rate of a step whose keys were answered within 100 ms (p99)."""
    good = [
        step["ingested_lines_per_s"]
        for step in steps
        if (p99 := step["keys"]["answered"]["p99_ms"]) is not None and p99 <= KEY_TARGET_MS
    ]
    return max(good) if good else None


def rows(results: dict[str, Any]) -> Iterator[Row]:
    if "follow" in results:
        yield from _follow_rows("follow", results["follow"]["dashboard"])
    if "core_only" in results.get("follow", {}):
        core = results["follow"]["core_only"]
        lag = core["lag_per_batch"]
        yield (
            f"  (the follower alone, no UI, {core['requested_lines_per_s'] // 1000}k/s)",
            f"CPU {core['cpu']['cpu_percent']:.0f}%, lag {_ms(lag['p50_ms'])} / "
            f"{_ms(lag['max_ms'])}",
            "context",
            "",
        )
    if "ramp" in results:
        steps = results["ramp"]["steps"]
        for step in steps:
            keys, lag = step["keys"]["answered"], step["lag"]
            yield (
                f"ramp {step['requested_lines_per_s'] // 1000}k/s",
                f"printed {step['printed_lines_per_s']:,}/s, ingested "
                f"{step['ingested_lines_per_s']:,}/s, CPU {step['cpu']['cpu_percent']:.0f}%, "
                f"lag {_ms(lag['p50_ms'])}/{_ms(lag['max_ms'])}, keys "
                f"{_ms(keys['p50_ms'])}/{_ms(keys['p99_ms'])}/{_ms(keys['max_ms'])}",
                "keys p99 ≤ 100 ms",
                _verdict(_within(keys["p99_ms"], KEY_TARGET_MS)),
            )
        best = best_rate(steps)
        yield (
            "most lines/s with keys p99 ≤ 100 ms",
            "none" if best is None else f"{best:,}/s",
            "≥ 50,000/s",
            _verdict(best is not None and best >= 50_000),
        )
    if "death" in results:
        death = results["death"]["die_event_to_screen"]
        kill = results["death"]["kill_returned_to_screen"]
        yield (
            f"death → screen p50/max (n={death['count']})",
            f"{_ms(death['p50_ms'])} / {_ms(death['max_ms'])} from the die event; "
            f"{_ms(kill['p50_ms'])} / {_ms(kill['max_ms'])} from kill() returning",
            "< 250 ms",
            _verdict(_below(death["max_ms"], 250)),
        )
    if "idle" in results:
        cpu = results["idle"]["cpu"]
        yield (
            f"idle CPU, {results['idle']['running_services']} services, {cpu['seconds']:.0f} s",
            f"{cpu['cpu_percent']:.2f}% of a core",
            "< 1%",
            _verdict(cpu["cpu_percent"] < 1),
        )
    if "first_frame" in results:
        inproc = results["first_frame"]["in_process"]["screen_refreshed"]
        fresh = results["first_frame"]["fresh_process"]["services_drawn"]
        fresh_cpu = results["first_frame"]["fresh_process"]["cpu_until_services_drawn"]
        imports = results["first_frame"]["fresh_process"].get(
            "interpreter_and_imports_cpu",
            results["first_frame"]["fresh_process"]["interpreter_and_imports"],
        )
        inproc_cpu = results["first_frame"]["in_process"]["cpu_until_rows_listed"]
        yield (
            "first frame, in-process p50/max",
            f"{_ms(inproc['p50_ms'])} / {_ms(inproc['max_ms'])} "
            f"(CPU until rows listed {_ms(inproc_cpu['p50_ms'])})",
            "< 500 ms",
            _verdict(_below(inproc["max_ms"], 500)),
        )
        yield (
            "first frame, fresh process p50/max",
            f"{_ms(fresh['p50_ms'])} / {_ms(fresh['max_ms'])} "
            f"(CPU {_ms(fresh_cpu['p50_ms'])}, of which interpreter + imports "
            f"{_ms(imports['p50_ms'])})",
            "< 500 ms",
            _verdict(_below(fresh["max_ms"], 500)),
        )
        fresh_process = results["first_frame"]["fresh_process"]
        if "quit_right_after" in fresh_process:
            quits, left = fresh_process["quit_right_after"], fresh_process["processes_left_behind"]
            yield (
                "quit right after the first frame, p50/max",
                f"{_ms(quits['p50_ms'])} / {_ms(quits['max_ms'])}, "
                f"{len(left)} processes left behind",
                "< 2 s, none left",
                _verdict(_below(quits["max_ms"], 2000) and not left),
            )
    if "terminal" in results:
        terminal = results["terminal"]
        idle = terminal["idle"]["cpu"]
        yield (
            "real terminal: idle CPU",
            f"{idle['cpu_percent']:.2f}% of a core",
            "< 1%",
            _verdict(idle["cpu_percent"] < 1),
        )
        follow = terminal["follow"]
        as_follow = {**follow, "lag": follow["screen_lag"]}
        yield from _follow_rows("real terminal", as_follow, keys_probed=False)
        if "quit_while_following_ms" in terminal:
            left = terminal["processes_left_behind"]
            yield (
                "real terminal: quit while following",
                f"{_ms(terminal['quit_while_following_ms'])}, exit status "
                f"{terminal['exit_status']}, {len(left)} processes left behind",
                "< 2 s, none left",
                _verdict(
                    _below(terminal["quit_while_following_ms"], 2000)
                    and terminal["exit_status"] == 0
                    and not left
                ),
            )


def table(results: dict[str, Any]) -> str:
    body = list(rows(results))
    header: Row = ("figure", "measured", "target", "verdict")
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * width for width in widths))
    lines += [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in body
    ]
    return "\n".join(lines)
