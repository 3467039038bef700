/**
 * Arbiter's web SDK: `<ArbiterRoom url="..." />`, hooks for your own layout, and the
 * framework-free core (protocol, Room).
 * @packageDocumentation
 */
export * from './components/index.js';
export * from './context/index.js';
export * from './hooks/index.js';
export * from './prefabs/index.js';
export * from './core/index.js';
