// The deterministic simulator: SWIM cores under a virtual clock and a simulated network.
export { Simulation, type SimulationOptions, type SimulationReport, type View, type NodeStatus, type SimSwimOptions } from './simulation.js';
export { DEFAULT_LINK, type LinkModel } from './network.js';
export { Sfc32 } from './prng.js';
export { distribution, type Distribution, type FalseDeclaration } from './recorder.js';
