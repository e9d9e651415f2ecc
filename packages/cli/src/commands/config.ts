import type { Command } from 'commander';
import { hostname, userInfo } from 'node:os';
import { taskCfgSchema, type ConfigDocument, type VersionedConfig } from '@sched/core';
import { checkConfigDocument, readConfigFile } from '@sched/config';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { table, type Io } from '../format.js';
import { checkJobName } from './history.js';

/** Who the change is recorded as (the config history shows it). */
function actor(): string {
  try {
    return `${userInfo().username}@${hostname()} (sched cli)`;
  } catch {
    return 'sched cli';
  }
}

/** The document as the nodes would take it (schema and every cron spec), or a one-line error naming the path. */
function checkDocument(doc: unknown, where: string): ConfigDocument {
  try {
    return checkConfigDocument(doc, where);
  } catch (error) {
    throw new CliError((error as Error).message.replace(/^sched: /, ''));
  }
}

/** A field's value from the command line: JSON when it parses (`true`, `5`, `{"attempts":3}`), else the text. */
function fieldValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function write(ctx: CliContext, io: Io, current: VersionedConfig | null, next: ConfigDocument, reason: string) {
  const store = await ctx.configStore();
  try {
    const saved = await store.compareAndSet(next, current?.version ?? 0, { nodeId: 'cli', actor: actor(), reason });
    if (ctx.options.json) return io.out(JSON.stringify({ version: saved.version, updatedAt: saved.updatedAt }, null, 2));
    io.out(`config version ${saved.version} written; every node applies it in version order`);
  } catch (error) {
    if ((error as { code?: string }).code === 'SCHED_CONFIG_CONFLICT') {
      throw new CliError(`${(error as Error).message}: someone changed the config meanwhile; read it again and retry`);
    }
    throw error;
  }
}

export function configCommand(program: Command, ctx: () => CliContext, io: Io): void {
  const config = program.command('config').description('the shared configuration document (versioned, in Redis)');

  config
    .command('get')
    .description('the document in effect (or one job of it), its version and who wrote it')
    .argument('[job]', 'only this job', checkJobName)
    .action(async (job: string | undefined) => {
      const c = ctx();
      const current = await (await c.configStore()).get();
      if (!current) {
        if (c.options.json) return io.out('null');
        return io.out('no shared configuration yet (the nodes run the config of their code and files)');
      }
      if (job !== undefined && !current.document.jobs[job]) throw new CliError(`job "${job}" is not in the shared configuration`);
      if (c.options.json) {
        return io.out(JSON.stringify(job === undefined ? current : current.document.jobs[job], null, 2));
      }
      const jobs = Object.entries(current.document.jobs).filter(([name]) => job === undefined || name === job);
      io.out(
        `version ${current.version}, written ${new Date(current.updatedAt).toISOString()} by ${current.actor ?? current.nodeId}` +
          (current.reason ? ` (${current.reason})` : '') +
          (current.document.timezone ? `; default zone ${current.document.timezone}` : ''),
      );
      io.out(
        table(
          ['job', 'field', 'value'],
          jobs.flatMap(([name, cfg]) => Object.entries(cfg).map(([f, v]) => [name, f, JSON.stringify(v)])),
        ),
      );
    });

  config
    .command('set')
    .description('sets one field of one job (value as JSON, or text): config set report cronSpec "0 */5 * * * *"')
    .argument('<job>', 'job name', checkJobName)
    .argument('<field>', `one of ${Object.keys(taskCfgSchema.shape).join(', ')}`)
    .argument('<value>', 'the new value; "null" removes the field')
    .action(async (job: string, field: string, value: string) => {
      const c = ctx();
      if (!(field in taskCfgSchema.shape)) {
        throw new CliError(`unknown field "${field}"; one of ${Object.keys(taskCfgSchema.shape).join(', ')}`);
      }
      const current = await (await c.configStore()).get();
      const doc: ConfigDocument = structuredClone(current?.document ?? { jobs: {} });
      const cfg: Record<string, unknown> = { ...doc.jobs[job] };
      const parsed = fieldValue(value);
      if (parsed === null) delete cfg[field];
      else cfg[field] = parsed;
      const next = checkDocument({ ...doc, jobs: { ...doc.jobs, [job]: cfg } }, `config set ${job} ${field}`);
      await write(c, io, current, next, `set ${job}.${field}`);
    });

  config
    .command('load')
    .description('replaces the shared document with a YAML or JSON file (checked first; nothing is written if it is invalid)')
    .argument('<file>', 'a .yaml, .yml or .json configuration document')
    .action(async (file: string) => {
      const c = ctx();
      let doc: ConfigDocument;
      try {
        doc = await readConfigFile(file);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      const next = checkDocument(doc, file);
      const current = await (await c.configStore()).get();
      await write(c, io, current, next, `load ${file}`);
    });
}
