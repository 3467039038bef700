/**
 * Arbiter's web SDK: `<ArbiterRoom url="..." />`, hooks for your own layout, and the
 * framework-free core (protocol, Room).
 * @packageDocumentation
 */
export * from './components';
export * from './context';
export * from './hooks';
export * from './prefabs';
export * from './core';
export { arbiterStyles } from './styles';
