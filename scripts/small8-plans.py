"""small8's device calls (issue 9): session 9's VGG3 b256 found plan (conv1 image-rows, conv2 2m-r128-lean, fc1 wide-split,
fc2 warp-reduce) from the template plan, its platform patched to this machine's (`hepbnn info --json`), as plan-old.json,
and the same plan with conv1 on another configuration as plan-NAME.json.
Usage: small8-plans.py OUT_DIR TEMPLATE NAME CONV1_CONFIGURATION"""
import json, sys

out, template, name, conv1 = sys.argv[1:5]
plan = json.load(open(template))
try:
    plan["platform"] = json.load(open(f"{out}/info.json"))["fingerprint"]
except Exception as e:
    print("info.json unreadable, keeping the template's platform:", e)
found = {"conv1": "gpu.tensor-core-image-rows", "conv2": "gpu.tensor-core-wide-2m-r128-lean", "fc1": "gpu.tensor-core-wide-split", "fc2": "gpu.warp-reduce"}
for b in plan["blocks"]:
    b["configuration"] = found[b["name"]]
json.dump(plan, open(f"{out}/plan-old.json", "w"), indent=1)
plan["blocks"][0]["configuration"] = conv1
json.dump(plan, open(f"{out}/plan-{name}.json", "w"), indent=1)
