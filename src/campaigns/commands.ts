import type { Command } from 'commander';
import { registerComplianceCommands } from '../compliance/cli.js';
import { registerCampaignCommands } from './cli.js';

/** Issue 8's commands: contact-window, contact-hours, campaign. One call from the CLI's main. */
export function registerLifecycleCommands(program: Command): void {
  registerComplianceCommands(program);
  registerCampaignCommands(program);
}
