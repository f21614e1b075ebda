# A multi-zone web application behind a load balancer (health-checked on /health, with CPU and
# 5xx alarms; a new image rolls out as a canary that the 5xx alarm rolls back), a DNS name, a
# data volume, daily backups copied to the DR region, and a pilot-light DR setup for
# production: the DR region keeps its network and its load balancer, and the DNS name fails
# over to it.
#
#   cairn validate examples/webapp
#   cairn graph -e production examples/webapp
#   eval "$(scripts/moto start)" && cairn plan -e aws examples/webapp
#
# Production on moto instead of the simulated cloud, and its DR drill there:
#
#   cairn apply -e production --var production_cloud=aws examples/webapp
#   cairn backup run -e production --var production_cloud=aws examples/webapp
#   cairn dr drill -e production --var production_cloud=aws examples/webapp

stack "webapp" {
  backend "local" {
    path = ".cairn"
  }
}

# The build artifact: `cairn promote --from staging --to production` applies the image
# staging last applied successfully.
variable "image" {
  type     = string
  default  = "ami-12c6146b"
  artifact = true
}

variable "bake" {
  type        = string
  default     = "2m"
  description = "How long the web servers' canary watches each checkpoint (its 5xx alarm, health) before widening."
}

variable "admin_cidr" {
  type    = string
  default = "10.20.0.0/16"
  validation {
    condition     = length(split("/", var.admin_cidr)) == 2
    error_message = "admin_cidr must be a CIDR block such as 10.20.0.0/16."
  }
}

variable "production_cloud" {
  type        = string
  default     = "sim"
  description = "Where production runs: \"sim\" or \"aws\" (moto via AWS_ENDPOINT_URL). One state either way: destroy before switching."
}

# cairn:ignore CAIRN007: a placeholder so that the example runs as it is; a real deployment passes --var db_password=... from its secret store
variable "db_password" {
  type        = string
  default     = "change-me-in-production"
  sensitive   = true
  description = "Handed to the instances through user data; never shown in plans."
}

environment "staging" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  vars = { capacity = 2, instance_type = "t3.small", data_size_gb = 50, domain = "staging.example.com" }
  tags = { env = "staging" }
}

environment "production" {
  cloud = var.production_cloud
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
  }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a", "us-west-2b", "us-west-2c"]
    mode   = "pilot_light"
  }
  vars    = { capacity = 3, instance_type = "t3.medium", data_size_gb = 100, domain = "example.com" }
  tags    = { env = "production" }
  protect = true
}

# The same application on AWS. The endpoint comes from AWS_ENDPOINT_URL (or an `endpoint`
# attribute here), so `scripts/moto start` makes this run against the moto emulator; the
# image is one that moto (and this example) has in both regions.
environment "aws" {
  cloud = "aws"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
  }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a", "us-west-2b", "us-west-2c"]
    mode   = "pilot_light"
  }
  vars = { capacity = 2, instance_type = "t3.small", data_size_gb = 20, domain = "aws.example.com" }
  tags = { env = "aws" }
}

locals {
  # Reads a sensitive variable, so every attribute built from it is sensitive too.
  user_data = format("%s\nDB_PASSWORD=%s\n", file("cloud-init/web.sh"), var.db_password)
}

module "network" {
  source = "../../modules/network"
  cidr   = "10.0.0.0/16"
}

module "web" {
  source        = "../../modules/web-tier"
  network       = module.network.network
  subnets       = module.network.public_subnet_ids
  image         = var.image
  instance_type = env.vars.instance_type
  capacity      = env.vars.capacity
  admin_cidr    = var.admin_cidr
  user_data     = local.user_data
  rollout_bake  = var.bake
}

# The environment's own zone; with a `dr` block, `www` fails over to the DR region.
dns_zone "site" {
  name = env.vars.domain
}

dns_record "www" {
  zone   = dns_zone.site
  name   = "www"
  target = module.web.load_balancer
}

volume "data" {
  zone      = region.zones[0]
  size_gb   = env.vars.data_size_gb
  encrypted = true
  tags      = { tier = "data" }
}

backup_policy "daily" {
  select  = { tier = "data" }
  every   = "24h"
  retain  = 14
  copy_to = env.dr == null ? null : env.dr.region
}

output "web_group" {
  value = module.web.group_name
}

output "url" {
  value = format("http://%s/", dns_record.www.name)
}

output "data_volume" {
  value = volume.data.id
}

output "user_data" {
  value     = local.user_data
  sensitive = true
}
