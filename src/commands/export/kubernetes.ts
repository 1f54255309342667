import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { exportKubernetes, type ExportKubernetesResult } from '../../export/kubernetes.js';

export default class ExportKubernetesCommand extends EnvctlCommand {
  static override summary = 'Write the resolved definition of an environment as Kubernetes manifests.';
  static override description =
    'Deployments (probes from healthchecks), Services, PersistentVolumeClaims, ConfigMaps and Secrets (from the environment), Jobs for run-to-completion services, and for pipeline.release an Argo Rollouts canary (--rollouts argo, the default) or a plain Deployment (--rollouts none). Every object is validated against the Kubernetes and Argo Rollouts schemas before anything is written. Output: one YAML stream on stdout, or one file per object in --out DIR (existing files are never replaced without --force, exit 2). What has no Kubernetes counterpart (bind mounts, network aliases, …) is reported as a warning naming the key. Docker is not contacted; built images get their content-hashed tag, which must be pushed to a registry.';
  static override examples = [
    '<%= config.bin %> export kubernetes --env ci > k8s.yaml',
    '<%= config.bin %> export kubernetes --out k8s/ --registry registry.example.com/team',
    '<%= config.bin %> export kubernetes --rollouts none | kubectl apply --dry-run=server -f -',
  ];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    out: Flags.string({ description: 'write one file per object into this folder (created if missing) instead of stdout' }),
    force: Flags.boolean({ description: 'replace existing files in --out', default: false }),
    rollouts: Flags.string({ description: 'the release service as an Argo Rollouts canary, or a plain Deployment', options: ['argo', 'none'], default: 'argo' }),
    registry: Flags.string({ description: 'registry prefix for images envctl builds (e.g. registry.example.com/team)' }),
  };

  async run(): Promise<ExportKubernetesResult> {
    const { flags } = await this.parse(ExportKubernetesCommand);
    const result = await exportKubernetes({
      load: this.exportingLoadOptions(flags),
      outDir: flags.out,
      force: flags.force,
      rollouts: flags.rollouts === 'none' ? 'none' : 'argo',
      registry: flags.registry,
    });
    if (!this.jsonEnabled()) {
      this.warnDiagnostics(result.diagnostics);
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning.key}: ${warning.message}\n`);
      if (result.outDir === undefined) process.stdout.write(result.manifests);
      else process.stderr.write(`wrote ${result.objects.length} objects to ${result.outDir} (env ${result.env})\n`);
    }
    // --json never carries secret values (it lands in CI logs): Secrets are shown with their keys only.
    return { ...result, manifests: result.redactedManifests };
  }
}
