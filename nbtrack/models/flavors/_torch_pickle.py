"""cloudpickle with the ``Pickler``/``Unpickler`` names ``torch.save``/``torch.load`` expect.

MLflow's ``mlflow.pytorch.pickle_module`` is the same thing; model files naming that
module are loaded with this one, so MLflow-saved PyTorch models load without MLflow.
"""

from pickle import Unpickler  # noqa: F401

from cloudpickle import *  # noqa: F403
from cloudpickle import CloudPickler as Pickler  # noqa: F401
