# The quickstart: one environment on the built-in simulated cloud, no account needed.
#
#   cairn validate examples/quickstart
#   cairn graph -e dev examples/quickstart

stack "quickstart" {
  backend "local" {
    path = ".cairn"
  }
}

variable "image" {
  type        = string
  default     = "ami-12c6146b"
  description = "Machine image for the web servers (exists in every moto region)."
}

variable "admin_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  vars = { capacity = 2, instance_type = "t3.micro" }
  tags = { team = "platform" }
}

network "main" {
  cidr = "10.0.0.0/16"
  subnet "public" {
    newbits = 8
    public  = true
  }
  subnet "private" {
    newbits = 8
  }
}

firewall "web" {
  network = network.main
  ingress {
    protocol = "tcp"
    ports    = 443
    from     = ["0.0.0.0/0"]
  }
  ingress {
    protocol = "tcp"
    ports    = 22
    from     = [var.admin_cidr]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

firewall "app" {
  network = network.main
  ingress {
    protocol = "tcp"
    ports    = "8080-8081"
    from     = [firewall.web]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

launch_template "web" {
  image         = var.image
  instance_type = env.vars.instance_type
  firewalls     = [firewall.web, firewall.app]
  http_tokens   = "required"
  volume {
    size_gb   = 20
    encrypted = true
  }
}

# cairn:ignore CAIRN006: the quickstart stays one tier, so its servers answer users directly; examples/webapp puts them behind a load balancer
autoscaling "web" {
  template = launch_template.web
  subnets  = network.main.subnet.public
  min      = 1
  max      = 4
  desired  = env.vars.capacity
  scaling "cpu" {
    target_cpu = 70
  }
}

output "web_group" {
  value = autoscaling.web.name
}

output "network_id" {
  value = network.main.id
}
