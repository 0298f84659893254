import { defineConfig, type DefaultTheme } from 'vitepress';
import { renderCoreInBrowser } from './playground/vite-plugin.js';

const steps = [
  ['promisc', 'Promiscuous parent', '父网卡混杂模式'],
  ['netns', 'Network namespaces', '网络命名空间'],
  ['macvlan-link', 'The macvlan link', '创建 macvlan 接口'],
  ['move-to-netns', 'Into the namespace', '移入命名空间'],
  ['address', 'Addresses', '配置地址'],
  ['link-up', 'Link up', '启用接口'],
  ['routes', 'Default route', '默认路由'],
  ['host-shim', 'Host shim migration', '主机地址迁移'],
  ['verify', 'Verify', '校验'],
  ['teardown', 'Teardown', '拆除'],
] as const;

function sidebar(prefix: string, zh: boolean): DefaultTheme.SidebarItem[] {
  const t = (en: string, cn: string) => (zh ? cn : en);
  return [
    {
      text: t('Guide', '指南'),
      items: [
        { text: t('What macvlan is', 'macvlan 是什么'), link: `${prefix}/guide/what-is-macvlan` },
        { text: t('Kernel and distribution support', '内核与发行版支持'), link: `${prefix}/guide/support` },
        { text: t('Quick start', '快速上手'), link: `${prefix}/guide/quick-start` },
        { text: t('Keep it across reboots', '重启后保持'), link: `${prefix}/guide/persistence` },
        { text: t('Use in CI', '在 CI 中使用'), link: `${prefix}/guide/ci` },
        { text: t('Roll out a fleet', '批量推广到整组节点'), link: `${prefix}/guide/fleet` },
        { text: t('When the host address changes MAC', '主机地址换了 MAC 之后'), link: `${prefix}/guide/neighbours` },
        { text: t('Dual stack: IPv6 beside IPv4', '双栈：IPv4 之外再加 IPv6'), link: `${prefix}/guide/dual-stack` },
        { text: t('VLAN parents', 'VLAN 父接口'), link: `${prefix}/guide/vlans` },
        { text: t('Several addresses on a namespace', '一个命名空间的多个地址'), link: `${prefix}/guide/addresses` },
        { text: t('Per-namespace DNS', '每个命名空间自己的 DNS'), link: `${prefix}/guide/dns` },
        { text: t('macvlan or ipvlan?', '用 macvlan 还是 ipvlan？'), link: `${prefix}/guide/ipvlan` },
      ],
    },
    {
      text: t('Step by step', '逐步讲解'),
      items: steps.map(([id, en, cn]) => ({ text: t(en, cn), link: `${prefix}/guide/steps/${id}` })),
    },
    {
      text: t('Reference', '参考'),
      items: [
        { text: t('Config', '配置'), link: `${prefix}/reference/config` },
        { text: t('CLI', '命令行'), link: `${prefix}/reference/cli` },
        { text: t('Troubleshooting', '故障排查'), link: `${prefix}/troubleshooting` },
        { text: t('Downloads', '下载'), link: `${prefix}/downloads` },
      ],
    },
  ];
}

export default defineConfig({
  title: 'macvlan-gen',
  description: 'Safe, per-node macvlan setup scripts from one config, proven on emulated nodes',
  cleanUrls: false,
  // Generated fragments are embedded into pages, not pages of their own.
  srcExclude: ['generated/**'],
  lastUpdated: false,
  // Pages link to generated files and downloads, which VitePress checks as well.
  ignoreDeadLinks: false,
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }]],
  // The playground runs the generator's own render core in the browser.
  vite: { plugins: [renderCoreInBrowser()] },
  themeConfig: {
    search: {
      provider: 'local',
      options: {
        locales: {
          zh: {
            translations: {
              button: { buttonText: '搜索', buttonAriaLabel: '搜索' },
              modal: {
                noResultsText: '没有找到结果',
                resetButtonTitle: '清除查询',
                footer: { selectText: '选择', navigateText: '切换', closeText: '关闭' },
              },
            },
          },
        },
      },
    },
  },
  locales: {
    root: {
      label: 'English',
      lang: 'en',
      themeConfig: {
        nav: [
          { text: 'Guide', link: '/guide/what-is-macvlan' },
          { text: 'Reference', link: '/reference/config' },
          { text: 'Playground', link: '/playground' },
          { text: 'Downloads', link: '/downloads' },
        ],
        sidebar: sidebar('', false),
      },
    },
    zh: {
      label: '简体中文',
      lang: 'zh-CN',
      link: '/zh/',
      title: 'macvlan-gen',
      description: '由一份配置为每个节点生成安全的 macvlan 配置脚本，并先在模拟节点上验证',
      themeConfig: {
        nav: [
          { text: '指南', link: '/zh/guide/what-is-macvlan' },
          { text: '参考', link: '/zh/reference/config' },
          { text: '试验场', link: '/zh/playground' },
          { text: '下载', link: '/zh/downloads' },
        ],
        sidebar: sidebar('/zh', true),
        outline: { label: '本页目录' },
        docFooter: { prev: '上一页', next: '下一页' },
        darkModeSwitchLabel: '外观',
        sidebarMenuLabel: '菜单',
        returnToTopLabel: '回到顶部',
        langMenuLabel: '切换语言',
      },
    },
  },
});
