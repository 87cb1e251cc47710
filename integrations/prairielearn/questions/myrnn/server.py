# Each PrairieLearn variant is graded as its own unroll "student", named by its seed (pl-variant-<seed>),
# unless params.unroll_student is set here. PrairieLearn keeps its own gradebook of these scores.
def generate(data):
    data["params"]["unroll_student"] = "pl-variant-%s" % data["variant_seed"]
