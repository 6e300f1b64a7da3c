"""The configuration space of Deep Shift ResNet20 (Table 1 of the MFMO-DSNN paper), registered as ``"dsnn"``.

The first five parameters are common training hyperparameters, the last six are specific to DSNNs; the
defaults are those of Elhoushi et al. (2021) as the paper lists them. The fidelity (epochs) is not part of
the space: the multi-fidelity run (:func:`ecnas.dsnn.run`) allocates it. Importing this module does not
import torch; :meth:`DSNNSpace.build_model` does, on use.

>>> from ecnas.spaces import get_space
>>> space = get_space("dsnn")
>>> space.default()["shift_depth"], space.default()["optimizer"]
(20, 'SGD')
"""

from __future__ import annotations

from typing import Any

from ecnas.spaces import register_space
from ecnas.spaces._params import Categorical, Float, HyperparameterSpace, Integer, ParamConfig

__all__ = ["DSNN_PARAMETERS", "DSNNSpace"]

#: Table 1: name, range and default of every hyperparameter, in the table's order.
DSNN_PARAMETERS = (
    Integer("batch_size", 32, 128, default=128),
    Categorical("optimizer", ("SGD", "Adam", "Adagrad", "Adadelta", "RMSProp", "RAdam", "Ranger"), default="SGD"),
    Float("learning_rate", 0.001, 0.1, default=0.1, log=True),
    Float("momentum", 0.0, 0.9, default=0.9),
    Float("weight_decay", 1e-6, 1e-2, default=1e-4, log=True),
    Integer("weight_bits", 2, 8, default=5),
    Integer("act_integer_bits", 2, 32, default=16),
    Integer("act_fraction_bits", 2, 32, default=16),
    Integer("shift_depth", 0, 20, default=20),
    Categorical("shift_type", ("Q", "PS"), default="PS"),
    Categorical("rounding", ("deterministic", "stochastic"), default="deterministic"),
)


@register_space("dsnn")
class DSNNSpace(HyperparameterSpace):
    """Table 1: training and Deep Shift hyperparameters of a ResNet20 (11 parameters, defaults of the paper).

    ``shift_depth`` counts weight layers from the output (ResNet20 has 20: 19 convolutions and the
    classifier), so 0 is a float network and the default 20 shifts every layer.
    """

    #: The fidelity the multi-fidelity run allocates (not a parameter of the space).
    fidelity = "epochs"
    description = "Deep Shift ResNet20 hyperparameters (Table 1 of the MFMO-DSNN paper); fidelity: epochs"
    parameters = DSNN_PARAMETERS

    def build_model(self, config: ParamConfig, **options: Any) -> Any:
        """ResNet20 with the config's last ``shift_depth`` layers converted to shift layers.

        Args:
            config: a configuration of this space (validated here).
            **options: :func:`ecnas.dsnn.resnet20` options (``num_classes``, ``in_channels``, ``width``,
                ``bn_momentum``, ``seed``).

        Returns:
            The converted ``torch.nn.Module``.
        """
        from ecnas.dsnn.convert import convert_to_shift
        from ecnas.dsnn.resnet import resnet20

        config = self.validate(config)
        model = resnet20(**options)
        converted, _ = convert_to_shift(
            model,
            int(config["shift_depth"]),
            str(config["shift_type"]),
            weight_bits=int(config["weight_bits"]),
            act_integer_bits=int(config["act_integer_bits"]),
            act_fraction_bits=int(config["act_fraction_bits"]),
            rounding=str(config["rounding"]),
        )
        return converted
