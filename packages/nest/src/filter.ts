import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import { Catch, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { OrkestaAuthException } from './guard.js';

/**
 * Sends an `OrkestaAuthException` exactly as the core rendered it: status, challenge headers
 * and problem+json body, on Express and on Fastify. Registered globally by the module; it
 * catches only its own exception, so the application's filters for other errors are untouched.
 */
@Catch(OrkestaAuthException)
export class OrkestaAuthExceptionFilter implements ExceptionFilter<OrkestaAuthException> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: OrkestaAuthException, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse<unknown>();
    const { status, headers, body } = exception.rendered;
    for (const [name, value] of Object.entries(headers))
      httpAdapter.setHeader(response, name, value);
    httpAdapter.reply(response, JSON.stringify(body), status);
  }
}
