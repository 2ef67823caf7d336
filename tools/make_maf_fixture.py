#!/usr/bin/env python3
"""Reference log-probs of sbi's default MAF (sbi.neural_nets.net_builders.build_maf: nflows 0.14 MADE,
z-scored θ and x) for IonLink's MAF test. Fixture tool only: sbi and torch are not IonLink dependencies.

    python3 -m venv .venv-sbi && .venv-sbi/bin/pip install sbi==0.27.0
    .venv-sbi/bin/python tools/make_maf_fixture.py     # writes Tests/IonLinkInferenceTests/Fixtures/maf_reference.json

A small MAF (θ 3-d, x 2-d, 2 transforms of width 8, float64) with random weights is built by sbi; its MADE masks
are replaced by IonLink's (hidden degrees from 0 instead of nflows' 1, IonLink's one deliberate difference), so
that the reference checks everything else: the layer order and activations (tanh on the context term and on the
first hidden layer), the softplus scale, permutations, z-scoring and the log-determinant. The weights are
written in IonLink's parameter layout (per transform: input, context, hidden 1, hidden 2, output layers, each
weights row-major then biases; output rows = D scales then D shifts).
"""
import json
import os

import torch
from sbi.neural_nets.net_builders.flow import build_maf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "IonLinkInferenceTests", "Fixtures", "maf_reference.json")
D, C, H, T = 3, 2, 8, 2


def ionlink_masks(d, h):
    """IonLink's MADE masks (ConditionalMAF.masks): inputs 1…D, hidden k mod D, output degree of its dimension."""
    inputs = torch.arange(1, d + 1)
    hidden = torch.arange(h) % d
    return ((hidden[:, None] >= inputs[None, :]).double(), (hidden[:, None] >= hidden[None, :]).double(),
            (inputs.repeat_interleave(2)[:, None] > hidden[None, :]).double())  # nflows' interleaved output rows


def main():
    torch.manual_seed(5)
    torch.set_default_dtype(torch.float64)
    theta = torch.randn(200, D) * torch.tensor([1.5, 0.7, 2.0]) + torch.tensor([0.1, -0.2, 0.3])
    x = torch.randn(200, C) * torch.tensor([2.0, 0.5]) + torch.tensor([1.0, -1.0])
    flow = build_maf(theta, x, hidden_features=H, num_transforms=T, dtype=torch.float64)  # sbi rounds log Z to float32 otherwise
    transforms = flow.net._transform._transforms
    standardize, rest = transforms[0], transforms[1:]
    input_mask, hidden_mask, output_mask = ionlink_masks(D, H)
    parameters, permutations = [], []
    with torch.no_grad():
        for made_transform, permutation in zip(rest[0::2], rest[1::2]):
            made = made_transform.autoregressive_net
            for p in made.parameters():          # weights far from PyTorch's small defaults exercise the nonlinearities
                p.copy_(torch.randn_like(p) * 0.6)
            made.initial_layer.mask.copy_(input_mask)
            made.blocks[0].linear.mask.copy_(hidden_mask)
            made.blocks[1].linear.mask.copy_(hidden_mask)
            made.final_layer.mask.copy_(output_mask)
            order = torch.cat([torch.arange(0, 2 * D, 2), torch.arange(1, 2 * D, 2)])  # scales, then shifts
            for weight, bias in [(made.initial_layer.weight, made.initial_layer.bias),
                                 (made.context_layer.weight, made.context_layer.bias),
                                 (made.blocks[0].linear.weight, made.blocks[0].linear.bias),
                                 (made.blocks[1].linear.weight, made.blocks[1].linear.bias),
                                 (made.final_layer.weight[order], made.final_layer.bias[order])]:
                parameters += weight.reshape(-1).tolist() + bias.tolist()
            permutations.append(permutation._permutation.tolist())
        embedding = flow.net._embedding_net
        cases_theta, cases_x = theta[:12], x[:12]
        log_prob = flow.log_prob(cases_theta.unsqueeze(0), condition=cases_x).reshape(-1)
    fixture = dict(
        source="sbi 0.27 build_maf (nflows 0.14), float64, IonLink's MADE masks; tools/make_maf_fixture.py",
        dimension=D, contextDimension=C, hidden=H, transforms=T, parameters=parameters, permutations=permutations,
        thetaShift=(-standardize._shift / standardize._scale).tolist(), thetaScale=(1 / standardize._scale).tolist(),
        contextShift=embedding[0]._mean.tolist(), contextScale=embedding[0]._std.tolist(),
        theta=cases_theta.tolist(), x=cases_x.tolist(), logProb=log_prob.tolist())
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
    print(f"wrote {OUT}: {len(parameters)} parameters, {len(log_prob)} log-probs")


if __name__ == "__main__":
    main()
