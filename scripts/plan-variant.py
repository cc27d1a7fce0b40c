"""Device calls (issue 9): a saved plan as this machine's plan with some blocks on other configurations, for runs under
Nsight Compute or `hepbnn run --plan` without a profile first. Patches the template's platform fingerprint with this
machine's (OUT_DIR/info.json from `hepbnn info --json`; kept as it is when unreadable), sets each BLOCK=CONFIGURATION,
and writes OUT_DIR/plan-NAME.json.
Usage: plan-variant.py OUT_DIR TEMPLATE NAME [BLOCK=CONFIGURATION ...]"""
import json, sys

out, template, name, *changes = sys.argv[1:]
plan = json.load(open(template))
try:
    info = json.load(open(f"{out}/info.json"))
    fp = info.get("fingerprint") or info.get("Fingerprint")
    if fp: plan["platform"] = fp
except Exception as e:
    print("info.json unreadable, keeping the template's platform:", e)
wanted = dict(c.split("=", 1) for c in changes)
for b in plan["blocks"]:
    if b["name"] in wanted: b["configuration"] = wanted.pop(b["name"])
if wanted: sys.exit(f"plan-variant.py: no block named {', '.join(wanted)} in {template}")
json.dump(plan, open(f"{out}/plan-{name}.json", "w"), indent=1)
print(name, plan["platform"], [(b["name"], b["configuration"]) for b in plan["blocks"]])
