import type { Command } from 'commander';
import { fail, withDatabase } from './context.js';
import { formatBogota } from '../compliance/index.js';
import { maskPersonalData } from '../log.js';
import {
  CAMPAIGN_CHANNELS,
  CampaignError,
  campaignSettings,
  campaignStatus,
  cancelCampaign,
  isCampaignChannel,
  planCampaign,
  SKIP_REASONS,
  startCampaign,
  type CampaignChannel,
  type CampaignContent,
  type CampaignProgress,
  type SkipReason,
} from '../campaigns/index.js';
import { DEFAULT_FLOW_NAME } from '../flows/index.js';
import { isTemplateParameterName, templateContent, type TemplateParameterName } from '../campaigns/index.js';
import { flowOpeningContent } from '../campaigns/index.js';


interface StartFlags {
  portfolio: string;
  channel: string;
  template?: string;
  templateParams?: string;
  dryRun?: boolean;
  repeat?: boolean;
  json?: boolean;
}

function describeReason(reason: string | undefined): string {
  if (!reason) return '';
  return reason in SKIP_REASONS ? `${reason} (${SKIP_REASONS[reason as SkipReason]})` : reason;
}

function printProgress(p: CampaignProgress): void {
  const reasons = Object.entries(p.skipped_by_reason)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  process.stdout.write(
    `#${p.id}  ${p.portfolio}  ${p.channel}  "${p.template}"  ${p.status}  created ${formatBogota(new Date(p.created_at))}\n` +
      `    targets ${p.targets}: sent ${p.sent}, queued ${p.queued}, deferred ${p.deferred}, skipped ${p.skipped}, failed ${p.failed}, replied ${p.replied}` +
      (p.pending ? `, not yet queued ${p.pending} (run campaign start again to resume)` : '') +
      '\n' +
      (reasons ? `    skipped: ${reasons}\n` : ''),
  );
}

/** `campaign start|status|cancel`: outbound campaigns through the outbox, under the compliance guard. */
export function registerCampaignCommands(program: Command): void {
  const campaign = program.command('campaign').description("outbound campaigns: write first to a portfolio's debtors on one channel");

  campaign
    .command('start')
    .description('queue the opening message for every reachable debtor of a portfolio (resumes an interrupted campaign; nobody is messaged twice)')
    .requiredOption('-p, --portfolio <name>', 'the portfolio (cartera)')
    .requiredOption('-c, --channel <channel>', CAMPAIGN_CHANNELS.join(' | '))
    .option('-t, --template <name>', `whatsapp-cloud: the approved template's name (required); other channels: the flow whose campaign_opening is sent (default ${DEFAULT_FLOW_NAME})`)
    .option('--template-params <list>', 'whatsapp-cloud: values for the template body {{1}}, {{2}}…, comma-separated; only "nombre" (first name) is allowed')
    .option('--dry-run', 'list who would be contacted and when, and who is skipped and why; change nothing')
    .option('--repeat', 'also write to debtors an earlier campaign on this portfolio and channel already reached')
    .option('--json', 'print the result as JSON')
    .action(async (flags: StartFlags) => {
      if (!isCampaignChannel(flags.channel)) return fail(`--channel must be one of ${CAMPAIGN_CHANNELS.join(', ')}`);
      const channel: CampaignChannel = flags.channel;
      if (channel === 'whatsapp-cloud' && !flags.template) {
        return fail('WhatsApp Cloud campaigns open the conversation with an approved message template: pass --template NAME');
      }
      const params = (flags.templateParams ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      const unknown = params.filter((p) => !isTemplateParameterName(p));
      if (unknown.length) return fail(`--template-params: unknown ${unknown.join(', ')} (only "nombre" is allowed: nothing about the debt before the cédula matches)`);
      const template = flags.template ?? DEFAULT_FLOW_NAME;

      try {
        await withDatabase(async ({ knex, config, clock }) => {
          if (flags.dryRun) {
            const plan = await planCampaign(knex, { portfolio: flags.portfolio, channel, now: clock.now(), repeat: flags.repeat });
            if (flags.json) {
              process.stdout.write(
                `${JSON.stringify({
                  ...plan,
                  entries: plan.entries.map((e) => ({
                    debtor_id: e.debtor.id,
                    cedula: maskPersonalData(e.debtor.cedula),
                    recipient: e.recipient ? maskPersonalData(e.recipient) : null,
                    action: e.action,
                    at: e.at ? formatBogota(e.at) : null,
                    reason: e.reason ?? null,
                  })),
                })}\n`,
              );
              return;
            }
            const count = (a: string) => plan.entries.filter((e) => e.action === a).length;
            process.stdout.write(
              `Dry run: ${plan.portfolio} on ${plan.channel}` +
                (plan.resumes ? ` (would resume campaign #${plan.resumes.id}: ${plan.resumes.pending} not yet queued)` : '') +
                `: ${count('send')} now, ${count('defer')} deferred, ${count('skip')} skipped.\n`,
            );
            for (const e of plan.entries) {
              const who = `${maskPersonalData(e.debtor.cedula)}  ${e.debtor.nombre_del_cliente}`;
              const where = e.recipient ? maskPersonalData(e.recipient) : '-';
              const when = e.at ? formatBogota(e.at) : '';
              process.stdout.write(`  ${e.action.padEnd(5)}  ${who}  ${where}  ${when}  ${describeReason(e.reason)}\n`);
            }
            return;
          }

          let content: CampaignContent;
          if (channel === 'whatsapp-cloud') {
            content = templateContent(template, config.CAMPAIGN_TEMPLATE_LANGUAGE, params as TemplateParameterName[]);
          } else {
            const opening = flowOpeningContent(config.FLOWS_DIR, template);
            if (!opening) return fail(`no flow named "${template}" in ${config.FLOWS_DIR}`);
            content = opening;
          }
          const result = await startCampaign(knex, {
            portfolio: flags.portfolio,
            channel,
            template,
            content,
            settings: campaignSettings(config),
            now: () => clock.now(),
            repeat: flags.repeat,
            onProgress: (done, total) => {
              if (process.stderr.isTTY && total) process.stderr.write(`\rqueuing ${done}/${total}`);
            },
          });
          if (process.stderr.isTTY) process.stderr.write('\n');
          const [progress] = await campaignStatus(knex, { campaignId: result.campaignId });
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ ...result, status: progress })}\n`);
            return;
          }
          process.stdout.write(
            `${result.resumed ? 'Resumed' : 'Started'} campaign #${result.campaignId}: ${result.queued} queued, ${result.deferred} deferred by the contact rules, ${result.skipped} skipped.\n` +
              'The running service sends them through the outbox, paced per channel. Follow it with: npx acuerdo campaign status\n',
          );
          if (progress) printProgress(progress);
        });
      } catch (err) {
        if (err instanceof CampaignError) return fail(err.message);
        throw err;
      }
    });

  campaign
    .command('status')
    .description('progress of campaigns: sent, queued, deferred, skipped, failed and replied')
    .option('--campaign <id>', 'one campaign')
    .option('-p, --portfolio <name>', "a portfolio's campaigns")
    .option('--json', 'print JSON')
    .action(async (flags: { campaign?: string; portfolio?: string; json?: boolean }) => {
      await withDatabase(async ({ knex }) => {
        const list = await campaignStatus(knex, {
          ...(flags.campaign !== undefined ? { campaignId: Number(flags.campaign) } : {}),
          ...(flags.portfolio !== undefined ? { portfolio: flags.portfolio } : {}),
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list)}\n`);
          return;
        }
        if (!list.length) process.stdout.write('No campaigns.\n');
        for (const p of list) printProgress(p);
      });
    });

  campaign
    .command('cancel')
    .description('stop a campaign: its messages not yet sent are cancelled')
    .argument('<id>', 'the campaign number')
    .action(async (id: string) => {
      await withDatabase(async ({ knex, clock }) => {
        const done = await cancelCampaign(knex, Number(id), clock.now());
        if (!done) return fail(`no campaign #${id} to cancel`);
        process.stdout.write(`Cancelled campaign #${id}: ${done.cancelled} unsent messages cancelled.\n`);
      });
    });
}
