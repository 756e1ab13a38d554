import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Command } from 'commander';
import { PeopleError, PeopleStore, recordAudit, USER_ROLES, type User, type UserRole } from '../ops/index.js';
import { runInAgency, type Knex } from '../store/index.js';
import { fail, withDatabase, type CommandContext } from './context.js';

/** Reads the whole of standard input (a password piped in), without the final newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** The password to set: piped in with --password-stdin, or a random one printed once. */
async function passwordFrom(opts: { passwordStdin?: boolean }): Promise<{ password: string; generated: boolean }> {
  if (opts.passwordStdin) return { password: await readStdin(), generated: false };
  return { password: randomBytes(15).toString('base64url'), generated: true };
}

const cliActor = () => `cli:${os.userInfo().username}`;

async function audit(ctx: CommandContext, user: User, action: string, details: Record<string, unknown> = {}): Promise<void> {
  await runInAgency(user.agency_id, () =>
    recordAudit(ctx.knex, { agencyId: user.agency_id, actorUserId: null, actor: cliActor(), actorRole: 'admin', via: 'cli', action, target: user.email, details }, ctx.clock.now()),
  );
}

async function agencyId(knex: Knex, slug?: string): Promise<number | undefined> {
  if (!slug) return undefined;
  const row = (await knex('agencies').where({ slug }).first('id')) as { id: number } | undefined;
  if (!row) throw new PeopleError(`no agency with the slug ${slug}`, 'not_found');
  return row.id;
}

function describeUser(u: User): string {
  const state = u.disabled_at ? 'disabled' : u.locked_until ? `locked until ${u.locked_until.toISOString()}` : 'active';
  const portfolios = u.portfolio_ids.length ? ` portfolios ${u.portfolio_ids.join(',')}` : '';
  return `${u.id}\t${u.email}\t${u.role}\t${u.name}\tagency ${u.agency_id}\t${state}${portfolios}`;
}

/** Runs a users command, reporting a PeopleError as a one-line failure. */
async function run(fn: (ctx: CommandContext, people: PeopleStore) => Promise<void>): Promise<void> {
  try {
    await withDatabase((ctx) => fn(ctx, new PeopleStore({ knex: ctx.knex, clock: ctx.clock })));
  } catch (err) {
    if (err instanceof PeopleError) return fail(err.message);
    throw err;
  }
}

/** `users add|list|disable|enable|reset-password|token`: the back office's people. */
export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('back-office users: admins, supervisors and agents who sign in to the dashboard');

  users
    .command('add')
    .description('add a user; the password is read from standard input with --password-stdin, or generated and printed once')
    .requiredOption('--email <email>', 'their e-mail: what they sign in with')
    .requiredOption('--name <name>', 'the name colleagues (and, when replies are signed, debtors) see')
    .option('--role <role>', `one of ${USER_ROLES.join(', ')}`, 'agent')
    .option('--title <title>', 'job title for signed replies (default: asesor)')
    .option('--portfolio <id...>', 'limit an agent to these portfolio ids')
    .option('--agency <slug>', 'the agency (default: the default agency)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (opts: { email: string; name: string; role: string; title?: string; portfolio?: string[]; agency?: string; passwordStdin?: boolean }) => {
      if (!USER_ROLES.includes(opts.role as UserRole)) return fail(`--role must be one of ${USER_ROLES.join(', ')}`);
      await run(async (ctx, people) => {
        const { password, generated } = await passwordFrom(opts);
        const user = await people.addUser({
          email: opts.email,
          name: opts.name,
          role: opts.role as UserRole,
          password,
          job_title: opts.title,
          agency_id: await agencyId(ctx.knex, opts.agency),
          portfolio_ids: opts.portfolio?.map(Number),
        });
        await audit(ctx, user, 'user_change', { change: 'add', role: user.role });
        process.stdout.write(`Added ${describeUser(user)}\n`);
        if (generated) process.stdout.write(`Password (shown once): ${password}\n`);
      });
    });

  users
    .command('list')
    .description('list the users')
    .option('--agency <slug>', 'only this agency')
    .action(async (opts: { agency?: string }) => {
      await run(async (ctx, people) => {
        const list = await people.list({ agencyId: await agencyId(ctx.knex, opts.agency) });
        if (list.length === 0) process.stdout.write('No users. Add the first admin: npx acuerdo users add --role admin --email … --name …\n');
        for (const u of list) process.stdout.write(`${describeUser(u)}\n`);
      });
    });

  users
    .command('disable')
    .description('disable a user: no sign-in, and their sessions and API tokens stop working')
    .argument('<email>')
    .action(async (email: string) => {
      await run(async (ctx, people) => {
        const user = await people.disable(email);
        await audit(ctx, user, 'user_change', { change: 'disable' });
        process.stdout.write(`Disabled ${user.email}\n`);
      });
    });

  users
    .command('enable')
    .description('enable a disabled user again (and lift a lockout)')
    .argument('<email>')
    .action(async (email: string) => {
      await run(async (ctx, people) => {
        const user = await people.enable(email);
        await audit(ctx, user, 'user_change', { change: 'enable' });
        process.stdout.write(`Enabled ${user.email}\n`);
      });
    });

  users
    .command('reset-password')
    .description("set a new password (read from standard input with --password-stdin, or generated and printed once); ends the user's sessions and lifts a lockout")
    .argument('<email>')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (email: string, opts: { passwordStdin?: boolean }) => {
      await run(async (ctx, people) => {
        const { password, generated } = await passwordFrom(opts);
        const user = await people.resetPassword(email, password);
        await audit(ctx, user, 'user_change', { change: 'reset-password' });
        process.stdout.write(`New password set for ${user.email}\n`);
        if (generated) process.stdout.write(`Password (shown once): ${password}\n`);
      });
    });

  users
    .command('token')
    .description("create an API token for a user's scripts (shown once; stored as its SHA-256)")
    .argument('<email>')
    .requiredOption('--name <name>', 'what the token is for')
    .action(async (email: string, opts: { name: string }) => {
      await run(async (ctx, people) => {
        const user = await people.findByEmail(email);
        if (!user) return fail(`no user with the e-mail ${email}`);
        const token = await people.createApiToken(user.id, opts.name);
        await audit(ctx, user, 'api_token_change', { change: 'create', token_id: token.id });
        process.stdout.write(`Token ${token.id} (${token.prefix}…) for ${user.email}, shown once:\n${token.token}\n`);
      });
    });
}

/** `agencies add|list|address`: the tenants and the channel addresses that reach them. */
export function registerAgencyCommands(program: Command): void {
  const agencies = program.command('agencies').description('agencies (tenants): each owns its portfolios, users, conversations and agreements');

  agencies
    .command('list')
    .description('list the agencies and the channel addresses that reach each')
    .action(async () => {
      await withDatabase(async ({ knex }) => {
        const rows = (await knex('agencies').orderBy('id').select('id', 'slug', 'name', 'channel_addresses')) as { id: number; slug: string; name: string | null; channel_addresses: { channel: string; address: string }[] }[];
        for (const a of rows) {
          const addresses = a.channel_addresses.map((c) => `${c.channel}:${c.address}`).join(' ');
          process.stdout.write(`${a.id}\t${a.slug}\t${a.name ?? '(AGENCY_NAME)'}${addresses ? `\t${addresses}` : ''}\n`);
        }
      });
    });

  agencies
    .command('add')
    .description('add an agency; then add its admin: npx acuerdo users add --agency SLUG --role admin …')
    .requiredOption('--slug <slug>', 'a short name: lowercase letters, digits and dashes')
    .requiredOption('--name <name>', 'the name debtors see (signed replies, messages)')
    .action(async (opts: { slug: string; name: string }) => {
      if (!/^[a-z0-9][a-z0-9-]{1,39}$/.test(opts.slug)) return fail('--slug: 2-40 lowercase letters, digits and dashes');
      await withDatabase(async ({ knex, clock }) => {
        if (await knex('agencies').where({ slug: opts.slug }).first('id')) return fail(`an agency with the slug ${opts.slug} exists`);
        const [row] = (await knex('agencies').insert({ slug: opts.slug, name: opts.name, created_at: clock.now(), updated_at: clock.now() }).returning('id')) as { id: number }[];
        process.stdout.write(`Added agency ${row!.id} (${opts.slug})\n`);
      });
    });

  agencies
    .command('address')
    .description("route a channel's receiving address to an agency (WhatsApp Cloud: the phone number id)")
    .argument('<slug>')
    .requiredOption('--channel <channel>', 'the channel, e.g. whatsapp-cloud')
    .requiredOption('--address <address>', 'the receiving address as the channel reports it')
    .action(async (slug: string, opts: { channel: string; address: string }) => {
      await withDatabase(async ({ knex, clock }) => {
        const agency = (await knex('agencies').where({ slug }).first('id', 'channel_addresses')) as { id: number; channel_addresses: { channel: string; address: string }[] } | undefined;
        if (!agency) return fail(`no agency with the slug ${slug}`);
        const others = (await knex('agencies').whereNot({ id: agency.id }).select('slug', 'channel_addresses')) as { slug: string; channel_addresses: { channel: string; address: string }[] }[];
        const taken = others.find((o) => o.channel_addresses.some((c) => c.channel === opts.channel && c.address === opts.address));
        if (taken) return fail(`${opts.channel}:${opts.address} already reaches ${taken.slug}`);
        const addresses = [...agency.channel_addresses.filter((c) => !(c.channel === opts.channel && c.address === opts.address)), { channel: opts.channel, address: opts.address }];
        await knex('agencies').where({ id: agency.id }).update({ channel_addresses: JSON.stringify(addresses), updated_at: clock.now() });
        process.stdout.write(`${opts.channel}:${opts.address} now reaches ${slug}\n`);
      });
    });
}
