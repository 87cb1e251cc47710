#!/usr/bin/env python3
"""Grades a student's myRNN (Exercise 2 of the sheet) on Gradescope or PrairieLearn against unroll.

The kit fetches the student's problem from unroll, loads its weights into the student's own class with
load_state_dict, runs the student's forward in a child process (a timeout, an output cap), computes the
assignment's quantities through the student's own autograd (y, h, loss, gradients, ...), submits them and
writes the platform's results.json. Whatever the student's code does (raise, hang, print megabytes, return
the wrong shape), the student gets a sentence in the platform's format, never this kit's stack trace.

    unroll_kit.py gradescope      # $AUTOGRADER_ROOT (default /autograder)
    unroll_kit.py prairielearn    # $UNROLL_PL_ROOT (default /grade)

Only the standard library and torch. The child mode (--child WORKDIR) is internal.
"""
import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

CODE_FILE = "myrnn.py"
CLASS_NAME = "myRNN"
SETTINGS = ("UNROLL_URL", "UNROLL_ASSIGNMENT", "UNROLL_TOKEN")
TIMEOUT_S = float(os.environ.get("UNROLL_KIT_TIMEOUT", "60"))  # the student's code, after torch is imported
STARTUP_S = float(os.environ.get("UNROLL_KIT_STARTUP", "300"))  # importing torch in a busy container
MAX_OUTPUT = int(os.environ.get("UNROLL_KIT_MAX_OUTPUT", str(1 << 20)))  # bytes the student's code may print
EXCERPT = 2000  # characters of the student's prints shown back
MAX_JACOBIAN_ROWS = 20000  # backward passes a jacobian.* question may take
HTTP_TIMEOUT_S = 60
POLL_S = 0.05
NOBODY = 65534


# ---------------------------------------------------------------- settings and the server


def settings(env_file):
    """UNROLL_URL, UNROLL_ASSIGNMENT, UNROLL_TOKEN from the environment, else from a KEY=value file."""
    found = {}
    if os.path.isfile(env_file):
        if os.geteuid() == 0:
            os.chmod(env_file, 0o600)  # the student's code runs as nobody: it must not read the token
        with open(env_file, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    found[k.strip()] = v.strip().strip('"').strip("'")
    out = {k: os.environ.get(k) or found.get(k) for k in SETTINGS}
    missing = [k for k in SETTINGS if not out[k]]
    if missing:
        raise KitError("the autograder is not configured: set %s (environment or %s)" % (", ".join(missing), env_file))
    out["UNROLL_URL"] = out["UNROLL_URL"].rstrip("/")
    return out


class KitError(Exception):
    """A problem of the setup or the server: shown to the student as one sentence, with no score."""


class RulesRefusal(KitError):
    """The course rules refused the submission (attempt limit 409, deadline 403): the student's, not the setup's."""


def call(cfg, method, path, body=None):
    req = urllib.request.Request(
        cfg["UNROLL_URL"] + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": "Bearer " + cfg["UNROLL_TOKEN"], "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read().decode()).get("detail", "")
        except Exception:
            detail = ""
        if method == "POST" and e.code in (403, 409):
            raise RulesRefusal(detail or e.reason) from None
        raise KitError("unroll answered %d: %s" % (e.code, detail or e.reason)) from None
    except (urllib.error.URLError, OSError) as e:
        raise KitError("the grading server %s could not be reached (%s)" % (cfg["UNROLL_URL"], e)) from None


# ---------------------------------------------------------------- running the student's code


def unprivileged():
    """(uid, gid) to run the student's code as when the kit runs as root (both platforms do), else None."""
    if os.geteuid() != 0:
        return None
    try:
        import pwd

        p = pwd.getpwnam("nobody")
        return p.pw_uid, p.pw_gid
    except KeyError:
        return NOBODY, NOBODY


def run_student(code_path, problem):
    """Runs the child on the problem; returns its result dict (answers, error, findings, output excerpt).

    The student's code gets a copy of the submission and of this file in a fresh directory, an environment
    without the kit's settings, and (as root) the user nobody, so it can read neither the instructor token
    nor unroll.env (0600, root's)."""
    work = tempfile.mkdtemp(prefix="unroll-kit-")
    submission = os.path.join(work, "submission")
    shutil.copytree(os.path.dirname(code_path), submission)
    kit = os.path.join(work, "unroll_kit.py")
    shutil.copyfile(os.path.abspath(__file__), kit)
    student = {k: v for k, v in problem.items() if k != "token"}
    with open(os.path.join(work, "problem.json"), "w") as f:
        json.dump({"code": os.path.join(submission, os.path.basename(code_path)), **student}, f)
    out_path = os.path.join(work, "output.txt")
    ready = os.path.join(work, "ready")
    user = unprivileged()
    if user:
        for d, dirs, files in os.walk(work):
            for name in [d] + [os.path.join(d, x) for x in dirs + files]:
                os.chown(name, *user)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
    with open(out_path, "wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-I", kit, "--child", work],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=submission,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills whatever it started
            **({"user": user[0], "group": user[1], "extra_groups": []} if user else {}),
        )
        started = time.monotonic()
        student_since = None
        stop = None
        while child.poll() is None:
            time.sleep(POLL_S)
            now = time.monotonic()
            if student_since is None and os.path.exists(ready):
                student_since = now
            if os.path.getsize(out_path) > MAX_OUTPUT:
                stop = "printed more than %s" % size(MAX_OUTPUT)
            elif student_since is not None and now - student_since > TIMEOUT_S:
                stop = "did not finish within %g s" % TIMEOUT_S
            elif student_since is None and now - started > STARTUP_S:
                stop = "could not start within %g s (importing torch)" % STARTUP_S
            if stop:
                kill(child)
                break
    try:
        return collect(work, out_path, stop, child.returncode, code_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def collect(work, out_path, stop, returncode, code_path):
    """The child's result, or what stopped it, with an excerpt of what it printed."""
    excerpt = read_excerpt(out_path)
    result_path = os.path.join(work, "result.json")
    if stop:
        what = "Your code %s, so it was stopped." % stop
        if "printed" in stop:
            what += " Remove the prints from forward (or print less)."
        elif "finish" in stop:
            what += " Is there a loop that never ends (a while loop, or a range over the wrong length)?"
        return {"answers": {}, "error": {"message": what}, "findings": static_findings(code_path), "output": excerpt}
    if not os.path.exists(result_path):
        return {
            "answers": {},
            "error": {"message": "Your code stopped the grader's Python process (exit status %s) before it finished." % returncode},
            "findings": static_findings(code_path),
            "output": excerpt,
        }
    with open(result_path) as f:
        result = json.load(f)
    result["output"] = excerpt
    if result.get("error"):
        seen = {x["id"] for x in result["findings"]}
        result["findings"] += [x for x in static_findings(code_path) if x["id"] not in seen]
    return result


def kill(child):
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def size(n):
    return "%d MiB" % (n >> 20) if n >= 1 << 20 else "%d KiB" % (n >> 10) if n >= 1 << 10 else "%d bytes" % n


def read_excerpt(path):
    with open(path, "rb") as f:
        text = f.read(EXCERPT + 1).decode("utf-8", "replace")
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "\n[... cut]"


# ---------------------------------------------------------------- the sheet's mistakes, read in the code

SHEET_A = "the sheet's a_t = U x_t + W h_{t-1}"


def static_findings(code_path):
    """The sheet's classic bugs as they read in forward's source (for code that cannot run to the end)."""
    try:
        with open(code_path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return []
    forward = None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == CLASS_NAME:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "forward":
                    forward = item
    if forward is None:
        return []
    found = {}

    def add(id_, line, message):
        found.setdefault(id_, {"id": id_, "line": line, "message": "line %d: %s" % (line, message), "how": "read in your code"})

    for node in ast.walk(forward):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in ("relu", "ReLU"):
                add("relu-instead-of-tanh", node.lineno, "relu is the activation, but Exercise 1's cell is h_t = tanh(U x_t + W h_{t-1}).")
            is_v = isinstance(f, ast.Attribute) and f.attr == "V" and isinstance(f.value, ast.Name) and f.value.id == "self"
            if is_v and any(reads_x(a) for a in node.args):
                add("v-on-input", node.lineno, "self.V is applied to the input x_t; V reads the hidden state out, and %s." % SHEET_A)
            if name == "size" and isinstance(f, ast.Attribute) and node.args and minus_one(node.args[0]):
                add("wrong-sequence-length", node.lineno, "x.size(-1) is the input width d, not the number of steps T = x.size(1).")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            if minus_one(node.slice):
                add("wrong-sequence-length", node.lineno, "x.shape[-1] is the input width d, not the number of steps T = x.shape[1].")
    uses_u = any(isinstance(n, ast.Attribute) and n.attr == "U" for n in ast.walk(forward))
    if not uses_u:
        add("u-unused", forward.lineno, "forward never uses self.U, but %s." % SHEET_A)
    return sorted(found.values(), key=lambda x: x["line"])


def reads_x(node):
    """x itself or a slice of it (x[:, t])."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id == "x"


def minus_one(node):
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and getattr(node.operand, "value", None) == 1


# ---------------------------------------------------------------- the child: the student's code under probes


def child(work):
    with open(os.path.join(work, "problem.json")) as f:
        prob = json.load(f)
    import torch  # noqa: E402 (the child alone imports torch)

    open(os.path.join(work, "ready"), "w").close()
    result = {"answers": {}, "error": None, "findings": [], "notes": [], "reasons": {}}
    try:
        compute(torch, prob, result)
    except StudentError as e:
        result["error"] = {"message": str(e)}
    with open(os.path.join(work, "result.tmp"), "w") as f:
        json.dump(result, f)
    os.replace(os.path.join(work, "result.tmp"), os.path.join(work, "result.json"))


class StudentError(Exception):
    pass


def student_trace(code_path, e):
    """'ValueError: ... (myrnn.py, line 9, in forward: raise ...)': the student's own frames only."""
    frames = [fr for fr in traceback.extract_tb(e.__traceback__) if os.path.abspath(fr.filename) == code_path]
    where = ""
    if frames:
        fr = frames[-1]
        where = " (%s, line %d, in %s: %s)" % (CODE_FILE, fr.lineno, fr.name, (fr.line or "").strip())
    return "%s: %s%s" % (type(e).__name__, e, where)


def guarded(code_path, stage, f):
    try:
        return f()
    except Exception as e:  # the student's code may raise anything
        raise StudentError("Your code raised an error %s: %s." % (stage, student_trace(code_path, e))) from None


class Probe:
    """Counts the activations and softmaxes the student's forward calls, and what the layers see."""

    ACTIVATIONS = ("relu", "tanh", "sigmoid")

    def __init__(self, torch):
        self.on = False
        self.calls = {a: 0 for a in self.ACTIVATIONS}
        self.softmax_dims = []
        self.layer_inputs = {"U": [], "W": [], "V": []}
        self.layer_outputs = {"U": [], "W": [], "V": []}
        F = torch.nn.functional
        for name in self.ACTIVATIONS:
            for owner in (torch, F, torch.Tensor):
                if hasattr(owner, name):
                    setattr(owner, name, self.counting(name, getattr(owner, name)))
        for owner in (torch, F, torch.Tensor):
            setattr(owner, "softmax", self.softmax(getattr(owner, "softmax")))

    def counting(self, name, f):
        def wrapped(*a, **k):
            if self.on:
                self.calls[name] += 1
            return f(*a, **k)

        return wrapped

    def softmax(self, f):
        def wrapped(*a, **k):
            if self.on:
                dim = k.get("dim", a[1] if len(a) > 1 else None)
                self.softmax_dims.append(dim)
            return f(*a, **k)

        return wrapped

    def attach(self, model):
        for key in self.layer_inputs:
            layer = getattr(model, key, None)
            if layer is None or not hasattr(layer, "register_forward_pre_hook"):
                continue

            def pre(_m, inputs, key=key):
                if self.on and inputs:
                    t = inputs[0]
                    if t.requires_grad:
                        t.retain_grad()
                    self.layer_inputs[key].append(t)

            def post(_m, _inputs, output, key=key):
                if self.on:
                    self.layer_outputs[key].append(output)

            layer.register_forward_pre_hook(pre)
            layer.register_forward_hook(post)


def compute(torch, prob, result):
    code_path = prob["code"]
    problem = prob["problem"]
    questions = prob["questions"]
    config = problem["model"]["config"]
    d, H, C = config["inputSize"], config["hiddenSize"], config["outputSize"]
    torch.set_default_dtype(torch.float64)
    probe = Probe(torch)

    import importlib.util

    sys.path.insert(0, os.path.dirname(code_path))
    spec = importlib.util.spec_from_file_location("myrnn", code_path)
    module = importlib.util.module_from_spec(spec)
    guarded(code_path, "while loading %s" % CODE_FILE, lambda: spec.loader.exec_module(module))
    cls = getattr(module, CLASS_NAME, None)
    if cls is None:
        names = [n for n in dir(module) if isinstance(getattr(module, n), type) and getattr(module, n).__module__ == "myrnn"]
        raise StudentError(
            "%s defines no class %s%s: Exercise 2 asks for class %s(nn.Module)."
            % (CODE_FILE, CLASS_NAME, " (it defines %s)" % ", ".join(names) if names else "", CLASS_NAME)
        )
    model = guarded(code_path, "in %s(%d, %d, %d)" % (CLASS_NAME, d, H, C), lambda: cls(d, H, C))
    if not isinstance(model, torch.nn.Module):
        raise StudentError("%s is not an nn.Module: write class %s(nn.Module) and call super().__init__()." % (CLASS_NAME, CLASS_NAME))
    model.double()
    weights = {k: torch.tensor(v, dtype=torch.float64) for k, v in problem["model"]["weights"].items()}
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        have = ", ".join("%s %s" % (k, tuple(v.shape)) for k, v in model.state_dict().items()) or "none"
        want = ", ".join("%s %s" % (k, tuple(v.shape)) for k, v in weights.items())
        raise StudentError(
            "The problem's weights do not load into your %s (load_state_dict: %s). Your parameters: %s; the sheet's: %s."
            % (CLASS_NAME, str(e).splitlines()[0], have, want)
        ) from None
    probe.attach(model)
    x = torch.tensor(problem["x"], dtype=torch.float64, requires_grad=True)
    B, T = x.shape[0], x.shape[1]
    probe.on = True
    completed = False
    try:
        y = guarded(code_path, "in forward(x) with x of shape (B, T, d) = %s" % (tuple(x.shape),), lambda: model(x))
        completed = True
    finally:
        probe.on = False
        result["findings"] = findings(torch, probe, x, config, completed)
    if not isinstance(y, torch.Tensor):
        raise StudentError("forward(x) returned %s, not a tensor: it should return y = softmax(V h_{T-1})." % type(y).__name__)
    want_shape = [B, T, C] if config.get("readout") == "all" else [B, C]
    result["notes"].append("forward(x) returned y of shape %s; y should be %s." % (tuple(y.shape), tuple(want_shape)))
    answers = result["answers"]
    wanted = {q["quantity"] for q in questions}
    quantity_of = {q["id"]: q["quantity"] for q in questions}

    # the forward quantities, as the probes saw them
    states = hidden_states(probe, T)
    values = {"y": y, "y.shape": list(y.shape)}
    if probe.layer_outputs["V"]:
        outs = probe.layer_outputs["V"]
        values["logits"] = outs[-1] if len(outs) == 1 else torch.stack(outs, 1)
    if states:
        values["hT"] = states[-1]
        # h over however many steps the loop ran: a wrong length is then a shape the server names
        values["h"] = torch.stack([s.expand(B, H) if s.dim() == 1 else s for s in states], 1)
    needs_backward = any(q.startswith("grads.") or q in ("loss", "dh", "dx") for q in wanted)
    skipped = None
    if needs_backward and list(y.shape) != want_shape:
        skipped = "the loss and the gradients need y of shape %s, and your y has shape %s" % (tuple(want_shape), tuple(y.shape))
        result["notes"].append("Not computed: %s." % skipped)
    if needs_backward and list(y.shape) == want_shape:
        targets = torch.tensor(problem["targets"], dtype=torch.long)
        probs = y.reshape(-1, C)
        loss = guarded(code_path, "computing the loss from your y", lambda: torch.nn.functional.nll_loss(torch.log(probs), targets.reshape(-1)))
        values["loss"] = loss
        guarded(code_path, "in loss.backward() through your forward", lambda: loss.backward(retain_graph=True))
        for k, p in model.named_parameters():
            if p.grad is not None:
                values["grads." + k] = p.grad
        if x.grad is not None:
            values["dx"] = x.grad
        if states and all(s.grad is not None for s in states):
            values["dh"] = torch.stack([s.grad for s in states], 1)
    for qid, q in quantity_of.items():
        if q.startswith("jacobian.") and states and len(states) == T:
            values[q] = jacobian(torch, model, states, q[len("jacobian."):], result)
    for qid, q in quantity_of.items():
        v = values.get(q)
        if v is None:
            why = skipped if skipped and q not in ("y", "y.shape", "logits", "h", "hT") else WHY_MISSING.get(q, GENERIC_MISSING)
            result["reasons"][qid] = "%s was not computed: %s." % (q, why)
        elif not isinstance(v, list) and not bool(torch.isfinite(v).all()):
            result["notes"].append("%s (%s) is not finite with your code (inf or nan): it was not submitted." % (qid, q))
        else:
            answers[qid] = v if isinstance(v, list) else v.detach().tolist()


GENERIC_MISSING = "the kit did not see it while your forward ran (it watches self.U, self.W and self.V)"
WHY_MISSING = {
    "dh0": "your forward makes its own h_{-1}, so no gradient reaches an h0 the kit could see",
    "logits": "self.V was never called",
    "hT": "self.V was never called on a hidden state",
}


def hidden_states(probe, T):
    """h_0 .. h_{T-1}: what V reads at every step (readout at every step), else what W reads after step 0 plus what V reads last."""
    v_in, w_in = probe.layer_inputs["V"], probe.layer_inputs["W"]
    if len(v_in) == T and T > 1:
        return v_in
    states = list(w_in[1:]) + ([v_in[-1]] if v_in else [])
    return states


def jacobian(torch, model, states, key, result):
    params = dict(model.named_parameters())
    p = params.get(key)
    if p is None:
        return None
    rows = sum(s.numel() for s in states)
    if rows > MAX_JACOBIAN_ROWS:
        result["notes"].append("jacobian.%s needs %d backward passes, more than this kit takes (%d)." % (key, rows, MAX_JACOBIAN_ROWS))
        return None
    per_t = []
    for s in states:
        flat = s.reshape(-1)
        grads = [torch.autograd.grad(flat[i], p, retain_graph=True, allow_unused=True)[0] for i in range(flat.numel())]
        grads = [g if g is not None else torch.zeros_like(p) for g in grads]
        per_t.append(torch.stack(grads).reshape(*s.shape, *p.shape))  # (B, H, ...p)
    return torch.stack(per_t, 1)  # (B, T, H, ...p)


def findings(torch, probe, x, config, completed):
    """The sheet's mistakes as the probes saw them run (ids as unroll's mistake catalogue names them). What
    forward never did counts only when it finished: a forward that raised stopped before doing it."""
    out = []
    T, d = x.shape[1], x.shape[2]
    calls = probe.calls
    if config.get("activation", "tanh") == "tanh" and calls["relu"] and not calls["tanh"]:
        out.append({"id": "relu-instead-of-tanh", "message": "forward calls relu %d times and tanh never: Exercise 1's cell is h_t = tanh(U x_t + W h_{t-1})." % calls["relu"]})
    steps = len(probe.layer_inputs["W"])
    if not completed:
        pass
    elif steps == 0 and probe.layer_inputs["V"]:
        out.append({"id": "no-recurrence", "message": "forward never applies W, so h_{t-1} never reaches h_t: the sheet's h_t = tanh(U x_t + W h_{t-1})."})
    elif steps and steps != T:
        if steps == d:
            out.append({"id": "wrong-sequence-length", "message": "your loop ran %d steps, x.size(-1) = d, instead of T = x.size(1) = %d." % (steps, T)})
        else:
            out.append({"id": "wrong-sequence-length", "message": "your loop ran %d steps instead of T = x.size(1) = %d." % (steps, T)})
    for t_in in probe.layer_inputs["V"]:
        if t_in.shape[-1] == d and t_in.dim() == 2:
            if any(torch.equal(t_in.detach(), x[:, t].detach()) for t in range(T)):
                out.append({"id": "v-on-input", "message": "self.V is applied to the input x_t; V reads the hidden state out, and %s." % SHEET_A})
                break
    if completed and not probe.layer_inputs["U"] and (probe.layer_inputs["W"] or probe.layer_inputs["V"]):
        out.append({"id": "u-unused", "message": "forward never applies U, but %s." % SHEET_A})
    if completed and probe.layer_inputs["V"] and not probe.softmax_dims:
        out.append({"id": "logits-not-probabilities", "message": "forward never calls softmax: y = softmax(V h_{T-1} + b_V), probabilities over the classes."})
    elif any(dim in (0, -2) for dim in probe.softmax_dims if dim is not None) and x.shape[0] > 1:
        out.append({"id": "softmax-wrong-axis", "message": "softmax is taken over dim 0, the batch: take it over the classes, dim=-1."})
    for f in out:
        f["how"] = "seen when your code ran"
    return out


# ---------------------------------------------------------------- one submission, for either platform


def grade_code(cfg, student, code_path, fmt):
    """(results from unroll in `fmt`, kit result): fetch, run, submit."""
    code_path = os.path.abspath(code_path)
    problem = call(cfg, "GET", "/v1/assignments/%s/problems/%s" % (cfg["UNROLL_ASSIGNMENT"], urllib.request.quote(student, safe="")))
    if os.path.isfile(code_path):
        kit = run_student(code_path, problem)
    else:
        found = sorted(os.listdir(os.path.dirname(code_path))) if os.path.isdir(os.path.dirname(code_path)) else []
        kit = {
            "answers": {},
            "error": {"message": "No %s in your submission%s: submit the file %s defining class %s." % (CODE_FILE, " (it holds %s)" % ", ".join(found) if found else "", CODE_FILE, CLASS_NAME)},
            "findings": [],
            "output": "",
        }
    results = call(
        cfg,
        "POST",
        "/v1/assignments/%s/submissions?format=%s" % (cfg["UNROLL_ASSIGNMENT"], fmt),
        {"student": student, "answers": kit["answers"]},
    )
    return results, kit


def code_summary(kit):
    lines = []
    if kit.get("error"):
        lines.append(kit["error"]["message"])
    else:
        lines.append("Your myRNN ran on your problem.")
    lines += kit.get("notes", [])
    return "\n".join(lines)


def findings_text(kit):
    return "\n".join("%s (%s): %s" % (f["id"], f["how"], f["message"]) for f in kit["findings"])


def reason(kit, qid):
    """Why a question got no answer, in place of the server's "No answer was given"."""
    if kit.get("error"):
        return "Not computed: %s" % kit["error"]["message"]
    return (kit.get("reasons") or {}).get(qid)


def question_id(name):
    return name.split(" (")[0]


def gradescope(root):
    results_dir = os.path.join(root, "results")
    os.makedirs(results_dir, exist_ok=True)
    try:
        cfg = settings(os.path.join(root, "source", "unroll.env"))
        with open(os.path.join(root, "submission_metadata.json")) as f:
            meta = json.load(f)
        users = meta.get("users") or []
        if not users or not users[0].get("email"):
            raise KitError("submission_metadata.json names no user with an email")
        student = users[0]["email"]
        results, kit = grade_code(cfg, student, os.path.join(root, "submission", CODE_FILE), "gradescope")
        vis = results.get("visibility", "visible")
        for t in results.get("tests", []):
            why = reason(kit, question_id(t["name"]))
            if why and t["output"].startswith("No answer was given"):
                t["output"] = why
        extra = [
            {"name": "myRNN runs on your problem", "score": 0, "max_score": 0, "status": "failed" if kit.get("error") else "passed", "output": code_summary(kit) + ("\n\nYour code printed:\n" + kit["output"] if kit.get("output") else ""), "visibility": vis}
        ]
        if kit["findings"]:
            extra.append({"name": "What your code does differently from the sheet", "score": 0, "max_score": 0, "status": "failed", "output": findings_text(kit), "tags": [f["id"] for f in kit["findings"]], "visibility": vis})
        results["tests"] = extra + results.get("tests", [])
        results["output"] = "\n\n".join(x for x in (code_summary(kit), findings_text(kit), results.get("output", "")) if x)
    except RulesRefusal as e:
        results = {"score": 0, "output": "unroll did not take this submission: %s." % e, "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    except KitError as e:
        results = {"score": 0, "output": "The autograder could not grade this submission: %s. Tell your instructor, and resubmit later." % e, "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    write(os.path.join(results_dir, "results.json"), results)


def prairielearn(root):
    results_dir = os.path.join(root, "results")
    os.makedirs(results_dir, exist_ok=True)
    try:
        cfg = settings(os.path.join(root, "serverFilesCourse", "unroll", "unroll.env"))
        with open(os.path.join(root, "data", "data.json")) as f:
            data = json.load(f)
        student = os.environ.get("UNROLL_STUDENT") or (data.get("params") or {}).get("unroll_student")
        if not student:
            seed = data.get("variant_seed")
            if seed is None:
                raise KitError("data.json has no params.unroll_student and no variant_seed to name the problem by")
            student = "pl-variant-%s" % seed
        results, kit = grade_code(cfg, str(student), os.path.join(root, "student", CODE_FILE), "prairielearn")
        for t in results.get("tests", []):
            why = reason(kit, t["name"])
            if why and t["message"].startswith("No answer was given"):
                t["message"] = why
        extra = [{"name": "myRNN runs on your problem", "description": "your class, loaded with your problem's weights", "points": 0, "max_points": 0, "message": code_summary(kit), "output": kit.get("output", "")}]
        if kit["findings"]:
            extra.append({"name": "What your code does differently from the sheet", "description": ", ".join(f["id"] for f in kit["findings"]), "points": 0, "max_points": 0, "message": findings_text(kit)})
        results["tests"] = extra + results.get("tests", [])
        results["message"] = "\n".join(x for x in (code_summary(kit), findings_text(kit), results.get("message", "")) if x)
        if kit.get("error") and "format_errors" in results:
            results["format_errors"] = [kit["error"]["message"]]
    except RulesRefusal as e:
        results = {"gradable": False, "format_errors": ["unroll did not take this submission: %s." % e], "message": str(e)}
    except KitError as e:
        results = {"gradable": False, "format_errors": ["The autograder could not grade this submission: %s." % e], "message": str(e)}
    write(os.path.join(results_dir, "results.json"), results)


def write(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def main(argv):
    if len(argv) == 3 and argv[1] == "--child":
        return child(argv[2])
    if len(argv) != 2 or argv[1] not in ("gradescope", "prairielearn"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[1] == "gradescope":
            gradescope(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
        else:
            prairielearn(os.environ.get("UNROLL_PL_ROOT", "/grade"))
    except Exception:
        # a bug of the kit: the log (hidden from students) gets the trace, the student one sentence
        traceback.print_exc()
        root = os.environ.get("AUTOGRADER_ROOT", "/autograder") if argv[1] == "gradescope" else os.environ.get("UNROLL_PL_ROOT", "/grade")
        msg = "The autograder failed on its own side; your instructor can see why in the autograder log."
        body = {"score": 0, "output": msg, "stdout_visibility": "hidden", "tests": []} if argv[1] == "gradescope" else {"gradable": False, "format_errors": [msg]}
        os.makedirs(os.path.join(root, "results"), exist_ok=True)
        write(os.path.join(root, "results", "results.json"), body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
