// The rebalance planner as scenario folders (test/scenarios/rebalance/<case>/, the layout in
// test/support/cib-scenarios.ts). Every plan's rounds were checked with crm_simulate on a copy of
// the CIB (rejected moves are listed).
import { cibScenarios } from '../support/cib-scenarios.js';

await cibScenarios('rebalance', 10);
