#!/usr/bin/env python3
"""The chaos suite: `rto launch` runs on loopback whose processes are killed (SIGKILL) or hung
(SIGSTOP) at chosen or random steps, each checked against the same run undisturbed.

After every run it asserts: the launcher exited 0; the final policy and the last checkpoint's
critic equal the undisturbed run's bitwise; metrics.jsonl holds every step exactly once; no
process of the run is left; the coordinator's recovery counts equal the kills, role by role.
It prints a table: kills by role and signal, survived, and the seconds each recovery of a
learner or critic cost (from the loss until the run was back at its step).

    chaos.py BUILD_DIR SOURCE_DIR [--long] [--seed S] [--keep DIR] [--only NAME]

The short version (CI) runs planned runs (on-policy, with rollout.max_staleness 1, with 2
learner and 2 critic ranks, and one whose coordinator is killed twice) that lose every role by
both signals and the coordinator by SIGKILL; --long adds random runs (several kills each, random
roles, steps and signals). Once the launcher is killed, the driver does for its workers what
Kubernetes would: restarts one that exits, and kills one stopped for longer than 5 s.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROLES = ("learner", "critic", "scorer", "rollout")


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def make_world(rto, src, w):
    """A synthetic task with SFT, RM and DPO models (a few steps each), as launch_test makes it."""
    sh(rto, "synth", "--task", "count", "--out", f"{w}/task", "--seed", "1", "--sft-rows", "200",
       "--preference-rows", "200")
    sh(rto, "model", "init", "--config", f"{w}/task/model_config.json", "--out", f"{w}/init", "--tokenizer",
       f"{w}/task/tokenizer")
    short = ["--set", "train.steps=3", "--set", "train.micro_batch=4", "--set", "checkpoint.every=100"]
    sh(rto, "train", "sft", "--config", f"{src}/configs/sft.yaml", "--set", f"model={w}/init", "--set",
       f"data={w}/task/sft.jsonl", "--set", f"out={w}/sft", *short)
    pref = ["--set", f"model={w}/sft/final", "--set", f"data={w}/task/preferences.jsonl", *short]
    sh(rto, "train", "rm", "--config", f"{src}/configs/rm.yaml", *pref, "--set", f"out={w}/rm")
    sh(rto, "train", "dpo", "--config", f"{src}/configs/dpo.yaml", *pref, "--set", f"out={w}/dpo")


def job_args(src, w, steps, staleness, ranks):
    settings = {
        "models.policy": f"{w}/sft/final", "models.dpo": f"{w}/dpo/final", "models.reward": f"{w}/rm/final",
        "prompts": f"{w}/task/rl_prompts.jsonl", "eval_prompts": f"{w}/task/eval_prompts.jsonl",
        "rollout.prompts_per_step": 6, "rollout.samples_per_prompt": 2, "rollout.max_new_tokens": 12,
        "rollout.max_staleness": staleness, "steps": steps, "eval.every": 0, "checkpoint.every": 4,
        "checkpoint.keep": 2, "launch.rollout_workers": 2, "launch.scorer_replicas": 1,
        # Bitwise comparisons need the same thread count in every process; a hang is found
        # after 3 s of silence; a call to a dead worker fails within 20 s at worst.
        "threads.intra_op": 1, "launch.heartbeat_timeout_s": 3, "launch.rpc_deadline_s": 60,
        "launch.weight_sync_timeout_s": 20, "launch.max_restarts": 10,
        "launch.learner_ranks": ranks, "launch.critic_ranks": ranks,
    }
    args = ["--config", f"{src}/configs/rto.yaml"]
    for k, v in settings.items():
        args += ["--set", f"{k}={v}"]
    return args


def pids_of(role, out):
    found = subprocess.run(["pgrep", "-f", f"rto-{role} --config {out}/logs/services.yaml"], capture_output=True,
                           text=True).stdout.split()
    return [int(p) for p in found]


def steps_done(out):
    try:
        with open(f"{out}/metrics.jsonl") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def worker_processes(out):
    """name -> (pid, argv) of every worker process of the run now."""
    found = {}
    for role in ROLES:
        for pid in pids_of(role, out):
            try:
                argv = open(f"/proc/{pid}/cmdline").read().split("\0")[:-1]
            except OSError:
                continue
            if "--name" in argv[:-1]:  # not a process between fork and exec
                found[argv[argv.index("--name") + 1]] = (pid, argv)
    return found


def stopped(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


class Supervisor:
    """What Kubernetes does for the workers once the launcher, their parent, is gone: a worker
    that is not running is started with its command line, and one stopped for longer than a
    liveness probe allows (5 s here) is killed first."""

    def __init__(self, out, command_lines):
        self.out = out
        self.command_lines = command_lines  # every worker the launcher ran, by name
        self.children = []
        self.stopped_since = {}  # pid -> when it was first seen stopped

    def poll(self):
        self.children = [c for c in self.children if c.poll() is None]
        running = worker_processes(self.out)
        for name, argv in self.command_lines.items():
            if name in running:
                pid = running[name][0]
                if stopped(pid) and time.time() - self.stopped_since.setdefault(pid, time.time()) > 5:
                    os.kill(pid, signal.SIGKILL)
                continue
            log = open(f"{self.out}/logs/{name}.log", "a")
            self.children.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))


def restart_coordinator(rto, args, out, proc, log):
    """Kills the launcher (the coordinator; its workers live on) and starts `rto coordinator
    --resume` on its port, as compose's restart policy and the Kubernetes Job do: the workers
    register with it again."""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    port = json.load(open(f"{out}/logs/coordinator.json"))["port"]
    log.write("chaos: the coordinator was killed; starting rto coordinator --resume\n")
    log.flush()
    # The new coordinator holds the run's credentials, as a restarted pod mounts its Secret again.
    return subprocess.Popen([rto, "coordinator", *args, "--set", f"out={out}", "--port", str(port), "--resume",
                             "--set", f"security.dir={out}/security/coordinator"],
                            stdout=log, stderr=subprocess.STDOUT)


def launch(rto, args, out, kills, timeout, steps):
    """Runs `rto launch` and applies `kills` [(step, role, signal)] once the run has done `step`
    steps; returns the exit code of the launcher (or of the coordinator that replaced it), the
    output and the kills applied."""
    log = open(f"{out}.out", "w")
    proc = subprocess.Popen([rto, "launch", *args, "--set", f"out={out}"], stdout=log, stderr=subprocess.STDOUT)
    pending = sorted(kills)
    applied = []
    supervisor = None
    command_lines, seen_at = {}, 0
    stopped = []  # processes hung with SIGSTOP: woken at the end, whatever happened
    end = time.time() + timeout
    try:
        while proc.poll() is None and time.time() < end:
            if pending and steps_done(out) >= pending[0][0]:
                step, role, sig = pending.pop(0)
                if role == "coordinator":
                    if supervisor is None:
                        supervisor = Supervisor(out, command_lines)
                    proc = restart_coordinator(rto, args, out, proc, log)
                    applied.append((step, role, sig))
                    continue
                pids = pids_of(role, out)
                if pids:
                    pid = random.choice(pids)
                    os.kill(pid, sig)
                    if sig == signal.SIGSTOP:
                        stopped.append(pid)
                    applied.append((step, role, sig))
            if supervisor is None and time.time() > seen_at + 0.5:
                command_lines.update({name: argv for name, (_, argv) in worker_processes(out).items()})
                seen_at = time.time()
            # On failure only: workers exit 0 once the run is over.
            if supervisor is not None and steps_done(out) < steps:
                supervisor.poll()
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            return None, open(f"{out}.out").read(), applied
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        log.close()
    return proc.returncode, open(f"{out}.out").read(), applied


def same_file(a, b):
    with open(a, "rb") as x, open(b, "rb") as y:
        return x.read() == y.read()


def check_run(name, out, code, text, applied, reference, steps):
    """The assertions after one run; returns the list of failures."""
    failures = []
    if code != 0:
        failures.append(f"the launcher exited {code}; the end of its output:\n" + "\n".join(text.splitlines()[-25:]))
        return failures
    if not same_file(f"{out}/final/model.safetensors", f"{reference}/final/model.safetensors"):
        failures.append("the final policy differs from the undisturbed run's")
    critic = f"checkpoints/step-{steps}/critic/model/model.safetensors"
    if not same_file(f"{out}/{critic}", f"{reference}/{critic}"):
        failures.append("the final critic differs from the undisturbed run's")
    logged = [json.loads(line)["step"] for line in open(f"{out}/metrics.jsonl")]
    if logged != list(range(steps)):
        failures.append(f"metrics.jsonl holds steps {logged}, not each of 0..{steps - 1} once")
    for _ in range(100):  # workers the coordinator did not start exit at their next heartbeats
        left = subprocess.run(["pgrep", "-f", f"{out}/"], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.1)
    if left:
        failures.append(f"processes left behind: {left}")
    counts = re.search(r"recoveries: learner (\d+) critic (\d+) scorer (\d+) rollout (\d+)", text)
    # The last coordinator counts the losses it saw: those after the last coordinator kill, and
    # what that kill took with it (a data-parallel rank left in a call the dead coordinator made).
    last = max([step for step, role, _ in applied if role == "coordinator"], default=-1)
    expected = {role: sum(1 for step, r, _ in applied if r == role and step > last) for role in ROLES}
    got = dict(zip(ROLES, map(int, counts.groups()))) if counts else None
    if got is None or any(got[r] < expected[r] or (last < 0 and got[r] != expected[r]) for r in ROLES):
        failures.append(f"recoveries {got}, but kills {expected}")
    return failures


def planned_runs():
    """Every role lost once, by SIGKILL and by SIGSTOP, on-policy and generating ahead."""
    k, s = signal.SIGKILL, signal.SIGSTOP
    return [
        ("on-policy", 0, 1, 14, [(2, "learner", k), (5, "rollout", s), (7, "critic", k), (9, "scorer", k),
                                 (11, "critic", s)]),
        ("max_staleness 1", 1, 1, 14, [(2, "critic", k), (5, "learner", s), (8, "rollout", k), (10, "scorer", s)]),
        # A lost rank takes its data-parallel group with it: every rank of the role is replaced.
        ("2 learner and 2 critic ranks", 0, 2, 10, [(2, "learner", k), (6, "critic", s)]),
        ("the coordinator", 1, 1, 12, [(3, "coordinator", k), (7, "learner", k), (9, "coordinator", k)]),
    ]


def random_runs(rng, count):
    runs = []
    for i in range(count):
        steps = 20
        kills = sorted((rng.randrange(1, steps - 2), rng.choice(ROLES + ("coordinator",)),
                        rng.choice([signal.SIGKILL, signal.SIGSTOP])) for _ in range(rng.randrange(2, 5)))
        # One kill per step: the next waits for the run to get past the last one.
        seen, unique = set(), []
        for step, role, sig in kills:
            if step not in seen:
                seen.add(step)
                # The coordinator is killed (a hung one waits for its liveness probe).
                unique.append((step, role, signal.SIGKILL if role == "coordinator" else sig))
        runs.append((f"random {i}", rng.choice([0, 1]), rng.choice([1, 2]), steps, unique))
    return runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("src")
    parser.add_argument("--long", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="keep the runs here")
    parser.add_argument("--only", default="", help="only the runs whose name contains this")
    o = parser.parse_args()
    rto = os.path.abspath(f"{o.build}/services/rto/rto")
    src = os.path.abspath(o.src)
    tmp = o.keep or tempfile.mkdtemp(prefix="rto-chaos-")
    os.makedirs(tmp, exist_ok=True)
    random.seed(o.seed)
    try:
        make_world(rto, src, f"{tmp}/world")
        runs = planned_runs() + (random_runs(random.Random(o.seed), 6) if o.long else [])
        runs = [r for r in runs if o.only in r[0]]
        failed = 0
        rows, seconds = [], []
        references = {}
        for i, (name, staleness, ranks, steps, kills) in enumerate(runs):
            args = job_args(src, f"{tmp}/world", steps, staleness, ranks)
            key = (staleness, ranks, steps)
            if key not in references:
                # The same run in one process (its data-parallel ranks as threads) is the same
                # run bitwise (launch_test shows it).
                references[key] = f"{tmp}/reference-{len(references)}"
                sh(rto, "train", "rto", *args, "--set", f"out={references[key]}")
            out = f"{tmp}/run-{i}"
            start = time.time()
            code, text, applied = launch(rto, args, out, kills, timeout=300, steps=steps)
            failures = check_run(name, out, code, text, applied, references[key], steps)
            seconds += [float(x) for x in re.findall(r"recovered: back at step \d+ ([0-9.]+) s after", text)]
            what = ", ".join(f"{role} {signal.Signals(sig).name} at {step}" for step, role, sig in applied)
            print(f"{'ok  ' if not failures else 'FAIL'} {name}: {what} ({time.time() - start:.0f} s)")
            for f in failures:
                print("     " + f.replace("\n", "\n     "))
            failed += bool(failures)
            rows += [(role, sig, not failures) for _, role, sig in applied]
        print("\n| role | signal | kills | survived |\n|---|---|---:|---:|")
        for role in ROLES + ("coordinator",):
            for sig in (signal.SIGKILL, signal.SIGSTOP):
                mine = [ok for r, s, ok in rows if r == role and s == sig]
                if mine:
                    print(f"| {role} | {sig.name} | {len(mine)} | {sum(mine)} |")
        if seconds:
            seconds.sort()
            print(f"\nseconds lost per recovery of a learner or critic: median {seconds[len(seconds) // 2]:.1f}, "
                  f"max {seconds[-1]:.1f} ({len(seconds)} recoveries)")
        print(f"\nchaos: {failed} of {len(runs)} run(s) failed")
        return 1 if failed else 0
    finally:
        subprocess.run(["pkill", "-9", "-f", f"{tmp}/"], capture_output=True)
        if not o.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
