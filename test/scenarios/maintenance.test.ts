// The maintenance planners (drain, capacity, rolling reboot) as scenario folders
// (test/scenarios/maintenance/<case>/, the layout in test/support/cib-scenarios.ts). Every plan is
// Pacemaker's own answer (crm_simulate on a copy of the CIB).
import { cibScenarios } from '../support/cib-scenarios.js';

await cibScenarios('maintenance', 15);
