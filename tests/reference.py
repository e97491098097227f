"""The tests' oracles: the plain references now live in the package, beside the fast paths
(:mod:`convcli.ops.reference`); this module keeps the tests' imports working."""
from convcli.ops.reference import (activate_reference, activation_reference, batch_norm_reference,  # noqa: F401
                                   conv2d_reference, interpolate_reference, pad_reference, pool2d_reference,
                                   tconv2d_reference)
