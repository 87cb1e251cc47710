#!/usr/bin/python3
"""Writes test/fixtures/torch-rnn/*.json: state_dicts of the usual PyTorch model (nn.RNN + nn.Linear),
with x and the model's own y and hT, in float64. Run with Debian's /usr/bin/python3 (python3-torch).
The tests only read the JSON; they never call Python.

    /usr/bin/python3 scripts/make-torch-rnn-fixtures.py test/fixtures/torch-rnn
"""
import json
import os
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)


class Net(nn.Module):
    """The model of most tutorials: nn.RNN(batch_first=True), then nn.Linear on the last h_t."""

    def __init__(self, d, H, C, nonlinearity="tanh", bias=True, readout="last", **rnn_kw):
        super().__init__()
        self.readout = readout
        self.rnn = nn.RNN(d, H, batch_first=True, nonlinearity=nonlinearity, bias=bias, **rnn_kw)
        self.fc = nn.Linear(H, C, bias=bias)

    def forward(self, x):
        out, hT = self.rnn(x)  # out (B, T, H), hT (1, B, H)
        logits = self.fc(out[:, -1] if self.readout == "last" else out)
        return torch.softmax(logits, dim=-1), hT[0]


def case(name, seed, B, T, d, H, C, nonlinearity="tanh", bias=True, readout="last", **rnn_kw):
    torch.manual_seed(seed)
    net = Net(d, H, C, nonlinearity, bias, readout, **rnn_kw)
    x = torch.randn(B, T, d)
    sd = {k: v.tolist() for k, v in net.state_dict().items()}
    out = {
        "description": f"nn.RNN({d}, {H}, nonlinearity={nonlinearity!r}, bias={bias}, batch_first=True, "
        f"{', '.join(f'{k}={v}' for k, v in rnn_kw.items())}) + nn.Linear({H}, {C}), readout {readout}, float64",
        "torch": torch.__version__,
        "config": {"inputSize": d, "hiddenSize": H, "outputSize": C, "nonlinearity": nonlinearity, "readout": readout},
        "state_dict": sd,
        "x": x.tolist(),
    }
    if not rnn_kw:
        with torch.no_grad():
            y, hT = net(x)
        out["expected"] = {"y": y.tolist(), "hT": hT.tolist()}
    return name, out


CASES = [
    case("tanh", 15, B=3, T=5, d=4, H=6, C=3),
    case("relu-all", 16, B=2, T=4, d=3, H=5, C=2, nonlinearity="relu", readout="all"),
    case("no-bias", 17, B=2, T=3, d=2, H=3, C=2, bias=False),
    # unsupported: the tests expect a 400 naming the key that makes them so
    case("two-layers", 18, B=1, T=2, d=2, H=3, C=2, num_layers=2),
    case("bidirectional", 19, B=1, T=2, d=2, H=3, C=2, bidirectional=True),
]

if __name__ == "__main__":
    outdir = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/torch-rnn"
    os.makedirs(outdir, exist_ok=True)
    for name, data in CASES:
        with open(os.path.join(outdir, f"{name}.json"), "w") as f:
            json.dump(data, f)
            f.write("\n")
        print(f"{outdir}/{name}.json: {', '.join(data['state_dict'])}")
