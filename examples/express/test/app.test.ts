import { listenHttp } from '@orkesta/example-shared';
import { describePaymentsApi } from '@orkesta/example-shared/testing';
import { createPaymentsApp } from '../src/app.js';

describePaymentsApi('Express', (services) =>
  listenHttp(createPaymentsApp(services), { port: 0, host: '127.0.0.1' }),
);
