/** Entry of dist/integrity.js: Verify Integrity and Repair, required when one of them first runs. */
export { verifyCommand } from '../commands/verify';
export { repairCommand } from '../commands/repair';
